import type { FinishReason, TokenUsage } from "../provider.js";

const FINISH_REASONS: Record<string, FinishReason> = {
  stop: "stop",
  length: "length",
  content_filter: "content_filter",
  tool_calls: "tool_calls",
  function_call: "tool_calls",
};

export function toFinishReason(reason: unknown): FinishReason {
  return (typeof reason === "string" && FINISH_REASONS[reason]) || "unspecified";
}

export interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
}

export function toUsage(usage: OpenAIUsage | null | undefined): TokenUsage | undefined {
  if (!usage) return undefined;
  return { inputTokens: usage.prompt_tokens ?? 0, outputTokens: usage.completion_tokens ?? 0 };
}
