import type { FinishReason, TokenUsage } from "../provider.js";

/**
 * Every Candidate.FinishReason of the Gemini API (@google/genai 3.3's enum). STOP also ends a turn
 * of function calls: the caller sees tool_calls there (see finishReasonOf). The filters (safety,
 * recitation, blocklists, PII, a language it does not serve) are content_filter; a call the model
 * could not write, a missing thought signature or a tool loop cut short say nothing more than
 * "unspecified".
 */
const FINISH_REASONS: Record<string, FinishReason> = {
  STOP: "stop",
  MAX_TOKENS: "length",
  SAFETY: "content_filter",
  RECITATION: "content_filter",
  LANGUAGE: "content_filter",
  BLOCKLIST: "content_filter",
  PROHIBITED_CONTENT: "content_filter",
  SPII: "content_filter",
  IMAGE_SAFETY: "content_filter",
  IMAGE_PROHIBITED_CONTENT: "content_filter",
  IMAGE_RECITATION: "content_filter",
  ESCALATION: "content_filter",
};

/** The finish of a candidate, or of a prompt that was blocked before any candidate (promptFeedback.blockReason). */
export function finishReasonOf(
  reason: string | undefined,
  blockReason: string | undefined,
  madeToolCalls: boolean,
): FinishReason {
  if (reason === undefined) return blockReason ? "content_filter" : "unspecified";
  const finish = FINISH_REASONS[reason] ?? "unspecified";
  return finish === "stop" && madeToolCalls ? "tool_calls" : finish;
}

/** `usageMetadata` of a GenerateContentResponse. */
export interface GeminiUsage {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  cachedContentTokenCount?: number;
  toolUsePromptTokenCount?: number;
  totalTokenCount?: number;
}

/**
 * Input is every prompt token: Gemini's promptTokenCount already holds the cached ones, and the
 * results of its own tools (toolUsePromptTokenCount) are read as input too. Output holds the
 * thoughts, which Gemini counts apart from the candidates.
 */
export function toUsage(usage: GeminiUsage | null | undefined): TokenUsage | undefined {
  if (!usage) return undefined;
  const cached = usage.cachedContentTokenCount;
  const thoughts = usage.thoughtsTokenCount;
  return {
    inputTokens: (usage.promptTokenCount ?? 0) + (usage.toolUsePromptTokenCount ?? 0),
    outputTokens: (usage.candidatesTokenCount ?? 0) + (thoughts ?? 0),
    ...(typeof cached === "number" ? { cachedInputTokens: cached } : {}),
    ...(typeof thoughts === "number" ? { reasoningTokens: thoughts } : {}),
  };
}
