import { GatewayError } from "../../errors/gateway-error.js";
import type {
  FinishReason,
  NonTextContent,
  TokenUsage,
  ToolCallDelta,
  WireStreamEvent,
} from "../provider.js";
import { decodeSse, parseEventData } from "../sse-decoder.js";
import { streamError } from "./errors.js";
import { type OpenAIUsage, toFinishReason, toUsage } from "./finish-reason.js";

/** A piece of a tool call: id, type and name come in its first piece only. */
interface ToolCallChunk {
  index?: number;
  id?: string | null;
  function?: { name?: string | null; arguments?: string | null } | null;
}

interface ChatCompletionChunk {
  id?: string;
  choices?: {
    delta?: {
      content?: string | null;
      refusal?: string | null;
      tool_calls?: ToolCallChunk[] | null;
      function_call?: unknown;
      /** vLLM and DeepSeek. */
      reasoning_content?: string | null;
      /** OpenRouter, and vLLM since 0.10. */
      reasoning?: string | null;
    };
    finish_reason?: string | null;
  }[];
  usage?: OpenAIUsage | null;
  error?: unknown;
}

/**
 * Turns a `chat.completion.chunk` SSE stream into an id, pieces and one finish event. The
 * finish waits for `[DONE]`, since usage arrives in a chunk after the finish reason. Azure's
 * empty first chunk, `usage: null` on every chunk, padding fields and repeated finish reasons
 * all pass through the same reading; an `error` object anywhere ends the stream with it. The
 * pieces are passed on as they come: the StreamAssembler puts them together.
 */
export async function* readChatStream(
  body: AsyncIterable<Uint8Array>,
  provider: string,
): AsyncGenerator<WireStreamEvent> {
  let finishReason: FinishReason = "unspecified";
  let usage: TokenUsage | undefined;
  const nonText = new Set<NonTextContent>();
  const toolCalls = new ToolCallPieces();
  let sawId = false;
  for await (const event of decodeSse(body, provider)) {
    if (event.data === "[DONE]") {
      yield { type: "finish", finishReason, usage, nonTextContent: [...nonText] };
      return;
    }
    const chunk = parseEventData<ChatCompletionChunk>(event.data, provider);
    if (chunk.error !== undefined && chunk.error !== null) throw streamError(chunk.error, provider);
    if (!sawId && chunk.id) {
      sawId = true;
      yield { type: "id", id: chunk.id };
    }
    const choice = chunk.choices?.[0];
    const delta = choice?.delta;
    const reasoning = delta?.reasoning_content ?? delta?.reasoning;
    if (reasoning) yield { type: "reasoning_delta", index: 0, text: reasoning };
    if (delta?.content) yield { type: "delta", text: delta.content };
    if (delta?.refusal) yield { type: "refusal_delta", text: delta.refusal };
    for (const call of delta?.tool_calls ?? []) yield toolCalls.piece(call);
    // The deprecated single call has no id to answer it with: named, not carried.
    if (delta?.function_call) nonText.add("tool_calls");
    if (choice?.finish_reason) finishReason = toFinishReason(choice.finish_reason);
    if (chunk.usage) usage = toUsage(chunk.usage);
  }
  throw new GatewayError("unavailable", `${provider} ended the stream before [DONE]`, {
    reason: "UPSTREAM_STREAM_CUT",
  });
}

/**
 * Tool call pieces as the contract has them: numbered, the id and name in a call's first piece
 * only. OpenAI numbers every piece; a few compatible servers leave `index` out and send the calls
 * one after another (a piece with a new id begins the next call, one without continues the last),
 * and some repeat the id and name in every piece.
 */
class ToolCallPieces {
  /** Each begun call's id, by index. */
  private readonly begun = new Map<number, string | undefined>();
  /** A server index that numbered more than one call, to the index of its latest. */
  private readonly renumbered = new Map<number, number>();
  private last = -1;

  piece(call: ToolCallChunk): ToolCallDelta {
    const id = call.id || undefined;
    const index = typeof call.index === "number" ? this.numbered(call.index, id) : this.unnumbered(id);
    const first = !this.begun.has(index);
    if (first) this.begun.set(index, id);
    this.last = index;
    return {
      type: "tool_call_delta",
      index,
      ...(first && id ? { id } : {}),
      ...(first && call.function?.name ? { name: call.function.name } : {}),
      arguments: call.function?.arguments ?? "",
    };
  }

  /**
   * A piece the server numbered. Ollama, SGLang and Dynamo number every parallel call 0: a new id
   * at an index whose call has another one begins the next call, not more of that one.
   */
  private numbered(serverIndex: number, id: string | undefined): number {
    const index = this.renumbered.get(serverIndex) ?? serverIndex;
    const begunWith = this.begun.get(index);
    if (id === undefined || begunWith === undefined || begunWith === id) return index;
    const next = this.begun.size;
    this.renumbered.set(serverIndex, next);
    return next;
  }

  /** A piece without an index: a new id begins the next call, none continues the last. */
  private unnumbered(id: string | undefined): number {
    const sameAsLast = this.last >= 0 && (id === undefined || id === this.begun.get(this.last));
    return sameAsLast ? this.last : this.begun.size;
  }
}
