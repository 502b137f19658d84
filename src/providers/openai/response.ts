import { GatewayError } from "../../errors/gateway-error.js";
import type { NonTextContent, ParsedCompletion } from "../provider.js";
import { type OpenAIUsage, toFinishReason, toUsage } from "./finish-reason.js";

interface ChatCompletion {
  id?: string;
  choices?: {
    message?: { content?: string | null; refusal?: string | null; tool_calls?: unknown[] | null };
    finish_reason?: string | null;
  }[];
  usage?: OpenAIUsage | null;
}

/** Reads a `chat.completion` object; a body without a choice is the upstream's fault. */
export function parseChatCompletion(json: unknown, provider: string): ParsedCompletion {
  const completion = json as ChatCompletion;
  const choice = completion?.choices?.[0];
  if (choice === undefined) {
    throw new GatewayError("unavailable", `${provider} answered without a choice`, {
      reason: "UPSTREAM_MALFORMED",
    });
  }
  const message = choice.message ?? {};
  const nonTextContent: NonTextContent[] = [];
  if (message.tool_calls?.length) nonTextContent.push("tool_calls");
  if (message.refusal) nonTextContent.push("refusal");
  return {
    id: completion.id ?? "",
    // A refusal is the model's answer to a text-only caller, so it is the text.
    text: message.content ?? message.refusal ?? "",
    finishReason: toFinishReason(choice.finish_reason),
    usage: toUsage(completion.usage),
    nonTextContent,
    toolCalls: [],
    reasoning: [],
    refusal: "",
  };
}
