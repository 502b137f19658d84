import { GatewayError } from "../../errors/gateway-error.js";
import type { FinishReason, NonTextContent, TokenUsage, WireStreamEvent } from "../provider.js";
import { decodeSse, parseEventData } from "../sse-decoder.js";
import { streamError } from "./errors.js";
import { type OpenAIUsage, toFinishReason, toUsage } from "./finish-reason.js";

interface ChatCompletionChunk {
  id?: string;
  choices?: {
    delta?: { content?: string | null; refusal?: string | null; tool_calls?: unknown[] | null };
    finish_reason?: string | null;
  }[];
  usage?: OpenAIUsage | null;
  error?: unknown;
}

/**
 * Turns a `chat.completion.chunk` SSE stream into an id, deltas and one finish event. The
 * finish waits for `[DONE]`, since usage arrives in a chunk after the finish reason. Azure's
 * empty first chunk, `usage: null` on every chunk, padding fields and repeated finish reasons
 * all pass through the same reading; an `error` object anywhere ends the stream with it.
 */
export async function* readChatStream(
  body: AsyncIterable<Uint8Array>,
  provider: string,
): AsyncGenerator<WireStreamEvent> {
  let finishReason: FinishReason = "unspecified";
  let usage: TokenUsage | undefined;
  const nonText = new Set<NonTextContent>();
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
    if (delta?.content) yield { type: "delta", text: delta.content };
    if (delta?.refusal) {
      nonText.add("refusal");
      yield { type: "delta", text: delta.refusal };
    }
    if (delta?.tool_calls?.length) nonText.add("tool_calls");
    if (choice?.finish_reason) finishReason = toFinishReason(choice.finish_reason);
    if (chunk.usage) usage = toUsage(chunk.usage);
  }
  throw new GatewayError("unavailable", `${provider} ended the stream before [DONE]`, {
    reason: "UPSTREAM_STREAM_CUT",
  });
}
