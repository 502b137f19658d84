import type {
  ChatResult,
  ContentDelta,
  FinishReason,
  Reasoning,
  StreamFinish,
  TokenUsage,
  ToolCall,
} from "../providers/provider.js";

const FINISH_REASONS: Record<FinishReason, string | null> = {
  stop: "stop",
  length: "length",
  content_filter: "content_filter",
  tool_calls: "tool_calls",
  unspecified: "stop",
};

/** Between the texts of two reasoning blocks, in a whole answer and in a stream alike. */
const REASONING_SEPARATOR = "\n\n";

/**
 * OpenAI's usage, with the cached prompt tokens and the reasoning tokens it always details, and
 * the gateway's `cost_usd` beside them (OpenAI's SDKs keep fields they do not know).
 */
function usageJson(usage: TokenUsage | undefined) {
  const input = usage?.inputTokens ?? 0;
  const output = usage?.outputTokens ?? 0;
  return {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: input + output,
    prompt_tokens_details: { cached_tokens: usage?.cachedInputTokens ?? 0 },
    completion_tokens_details: { reasoning_tokens: usage?.reasoningTokens ?? 0 },
    cost_usd: usage?.costUsd ?? 0,
  };
}

/** A `chat.completion` object, as OpenAI's API answers. */
export function completionJson(result: ChatResult, model: string, created: number): string {
  const reasoning = reasoningText(result.reasoning);
  // As OpenAI answers: no text beside tool calls or a refusal is null, not "".
  const noText = result.toolCalls.length > 0 || result.refusal !== "" ? null : "";
  return JSON.stringify({
    id: result.id || `chatcmpl-weaver-${created}`,
    object: "chat.completion",
    created,
    model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: result.text || noText,
          refusal: result.refusal || null,
          ...(result.toolCalls.length > 0 ? { tool_calls: result.toolCalls.map(toolCallJson) } : {}),
          ...(reasoning === "" ? {} : { reasoning_content: reasoning }),
        },
        logprobs: null,
        finish_reason: FINISH_REASONS[result.finishReason],
      },
    ],
    usage: usageJson(result.usage),
  });
}

const toolCallJson = ({ id, name, arguments: args }: ToolCall) => ({
  id,
  type: "function",
  function: { name, arguments: args },
});

/**
 * OpenAI's Chat Completions API has no field for reasoning: `reasoning_content` is the one that
 * OpenAI-compatible servers (DeepSeek, vLLM, ...) answer with, so clients made for them read it.
 * Signatures and redacted reasoning have no place in it and are left out.
 */
function reasoningText(reasoning: Reasoning[]): string {
  return reasoning
    .map((block) => block.text)
    .filter((text) => text !== "")
    .join(REASONING_SEPARATOR);
}

/** Frames `chat.completion.chunk` events of one stream. */
export class ChunkWriter {
  /** The reasoning block whose text was written last, if any: the next one is separated from it. */
  private reasoningBlock: number | undefined;

  constructor(
    private readonly id: string,
    private readonly model: string,
    private readonly created: number,
  ) {}

  /** The first chunk, as OpenAI sends it before anything is known of the answer. */
  start(): string {
    return this.delta({ role: "assistant", content: "" });
  }

  /**
   * A piece of the answer as OpenAI streams it: a tool call's id, type and name in its first
   * chunk only, its arguments in every one. Undefined for a piece OpenAI's shape has no place for.
   */
  content(piece: ContentDelta): string | undefined {
    switch (piece.type) {
      case "delta":
        return this.delta({ content: piece.text });
      case "refusal_delta":
        return this.delta({ refusal: piece.text });
      case "tool_call_delta": {
        const { index, id, name, arguments: args } = piece;
        const first = id !== undefined || name !== undefined;
        const call = first
          ? { index, id, type: "function", function: { name, arguments: args } }
          : { index, function: { arguments: args } };
        return this.delta({ tool_calls: [call] });
      }
      case "reasoning_delta": {
        if (!piece.text) return undefined;
        const separator =
          this.reasoningBlock === undefined || this.reasoningBlock === piece.index ? "" : REASONING_SEPARATOR;
        this.reasoningBlock = piece.index;
        return this.delta({ reasoning_content: separator + piece.text });
      }
    }
  }

  /** The chunk with the finish reason, and the usage chunk (no choices) when the caller asked for it. */
  finish(finish: StreamFinish, includeUsage: boolean): string {
    const reason = FINISH_REASONS[finish.finishReason];
    const last = this.event({ choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: reason }] });
    return includeUsage ? last + this.event({ choices: [], usage: usageJson(finish.usage) }) : last;
  }

  private delta(delta: object): string {
    return this.event({ choices: [{ index: 0, delta, logprobs: null, finish_reason: null }] });
  }

  private event(fields: object): string {
    const chunk = {
      id: this.id,
      object: "chat.completion.chunk",
      created: this.created,
      model: this.model,
      ...fields,
    };
    return `data: ${JSON.stringify(chunk)}\n\n`;
  }
}

export const DONE_EVENT = "data: [DONE]\n\n";
