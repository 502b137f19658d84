import type { ChatResult, FinishReason, TokenUsage } from "../providers/provider.js";

const FINISH_REASONS: Record<FinishReason, string | null> = {
  stop: "stop",
  length: "length",
  content_filter: "content_filter",
  tool_calls: "tool_calls",
  unspecified: "stop",
};

export function usageJson(usage: TokenUsage | undefined) {
  const input = usage?.inputTokens ?? 0;
  const output = usage?.outputTokens ?? 0;
  return { prompt_tokens: input, completion_tokens: output, total_tokens: input + output };
}

/** A `chat.completion` object, as OpenAI's API answers. */
export function completionJson(result: ChatResult, model: string, created: number): string {
  return JSON.stringify({
    id: result.id || `chatcmpl-weaver-${created}`,
    object: "chat.completion",
    created,
    model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: result.text, refusal: null },
        logprobs: null,
        finish_reason: FINISH_REASONS[result.finishReason],
      },
    ],
    usage: usageJson(result.usage),
  });
}

/** Frames `chat.completion.chunk` events of one stream. */
export class ChunkWriter {
  constructor(
    private readonly id: string,
    private readonly model: string,
    private readonly created: number,
  ) {}

  delta(delta: { role?: string; content?: string }, finishReason: FinishReason | null = null): string {
    const reason = finishReason === null ? null : FINISH_REASONS[finishReason];
    return this.event({ choices: [{ index: 0, delta, logprobs: null, finish_reason: reason }] });
  }

  usage(usage: TokenUsage | undefined): string {
    return this.event({ choices: [], usage: usageJson(usage) });
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
