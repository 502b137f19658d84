import type { FinishReason, TokenUsage } from "../provider.js";

/** Every stopReason Converse documents (SDK 3.1164's StopReason). */
const STOP_REASONS: Record<string, FinishReason> = {
  end_turn: "stop",
  stop_sequence: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  guardrail_intervened: "content_filter",
  content_filtered: "content_filter",
  // malformed_model_output and malformed_tool_use: the model failed; no reason of ours says so.
};

export function toFinishReason(reason: unknown): FinishReason {
  return (typeof reason === "string" && STOP_REASONS[reason]) || "unspecified";
}

export interface ConverseUsage {
  inputTokens?: number | null;
  outputTokens?: number | null;
  totalTokens?: number | null;
  cacheReadInputTokens?: number | null;
  cacheWriteInputTokens?: number | null;
}

/**
 * Input counts every prompt token the model read: Converse's `inputTokens` leaves out those read
 * from and written to the prompt cache (its totalTokens adds them back). Cached input is the reads.
 */
export function toUsage(usage: ConverseUsage | null | undefined): TokenUsage | undefined {
  if (!usage) return undefined;
  const cached = usage.cacheReadInputTokens;
  return {
    inputTokens: (usage.inputTokens ?? 0) + (cached ?? 0) + (usage.cacheWriteInputTokens ?? 0),
    outputTokens: usage.outputTokens ?? 0,
    ...(typeof cached === "number" ? { cachedInputTokens: cached } : {}),
  };
}
