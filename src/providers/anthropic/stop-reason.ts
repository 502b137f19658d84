import type { FinishReason, NonTextContent, TokenUsage } from "../provider.js";

/** Every stop_reason the Messages API documents (SDK 1.14's StopReason). */
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
  output_tokens_details?: { thinking_tokens?: number | null } | null;
}

/** `stop_details` of a refusal: why the model declined, when Anthropic says. */
export interface AnthropicStopDetails {
  type?: string;
  explanation?: string | null;
}

/** The refusal's explanation ("" when there is none). */
export function refusalOf(details: AnthropicStopDetails | null | undefined): string {
  return details?.type === "refusal" && typeof details.explanation === "string" ? details.explanation : "";
}

/**
 * Input counts every prompt token the model read: Anthropic's `input_tokens` leaves out those
 * written to and read from the prompt cache, and reports them apart. Cached input is the reads.
 */
export function toUsage(usage: AnthropicUsage | null | undefined): TokenUsage | undefined {
  if (!usage) return undefined;
  const cached = usage.cache_read_input_tokens;
  const reasoning = usage.output_tokens_details?.thinking_tokens;
  return {
    inputTokens:
      (usage.input_tokens ?? 0) +
      (usage.cache_creation_input_tokens ?? 0) +
      (usage.cache_read_input_tokens ?? 0),
    outputTokens: usage.output_tokens ?? 0,
    ...(typeof cached === "number" ? { cachedInputTokens: cached } : {}),
    ...(typeof reasoning === "number" ? { reasoningTokens: reasoning } : {}),
  };
}

/**
 * What a content block the contract does not carry stands for: Anthropic's own tools (web search,
 * code execution) run server-side, and are no calls for the caller to answer.
 */
export function nonTextKind(blockType: unknown): NonTextContent | undefined {
  if (blockType === "server_tool_use" || blockType === "mcp_tool_use") return "tool_calls";
  return undefined;
}
