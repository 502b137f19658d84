import type { FinishReason, NonTextContent, TokenUsage } from "../provider.js";

const STOP_REASONS: Record<string, FinishReason> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

export function toFinishReason(reason: unknown): FinishReason {
  return (typeof reason === "string" && STOP_REASONS[reason]) || "unspecified";
}

export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

/** Input counts every prompt token: Anthropic reports cached ones apart from `input_tokens`. */
export function inputTokens(usage: AnthropicUsage): number {
  return (
    (usage.input_tokens ?? 0) +
    (usage.cache_creation_input_tokens ?? 0) +
    (usage.cache_read_input_tokens ?? 0)
  );
}

export function toUsage(usage: AnthropicUsage | null | undefined): TokenUsage | undefined {
  if (!usage) return undefined;
  return { inputTokens: inputTokens(usage), outputTokens: usage.output_tokens ?? 0 };
}

/** What a content block of a type other than text means for a text-only caller. */
export function nonTextKind(blockType: unknown): NonTextContent | undefined {
  if (blockType === "thinking" || blockType === "redacted_thinking") return "thinking";
  if (blockType === "tool_use" || blockType === "server_tool_use") return "tool_calls";
  return undefined;
}
