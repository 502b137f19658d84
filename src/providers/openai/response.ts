import { GatewayError } from "../../errors/gateway-error.js";
import type { FinishReason, TokenUsage } from "../provider.js";
import { type OpenAIUsage, toFinishReason, toUsage } from "./finish-reason.js";

interface ChatCompletion {
  id?: string;
  choices?: { message?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: OpenAIUsage | null;
}

/** Reads a `chat.completion` object; a body without a choice is the upstream's fault. */
export function parseChatCompletion(
  json: unknown,
  providerName: string,
): { id: string; text: string; finishReason: FinishReason; usage: TokenUsage | undefined } {
  const completion = json as ChatCompletion;
  const choice = completion?.choices?.[0];
  if (choice === undefined) {
    throw new GatewayError("unavailable", `${providerName} answered without a choice`, {
      reason: "UPSTREAM_MALFORMED",
    });
  }
  return {
    id: completion.id ?? "",
    text: choice.message?.content ?? "",
    finishReason: toFinishReason(choice.finish_reason),
    usage: toUsage(completion.usage),
  };
}
