import { GatewayError } from "../../errors/gateway-error.js";
import type { NonTextContent, ParsedCompletion } from "../provider.js";
import { type AnthropicUsage, nonTextKind, toFinishReason, toUsage } from "./stop-reason.js";

interface AnthropicMessage {
  id?: string;
  type?: string;
  content?: { type?: string; text?: string }[];
  stop_reason?: string | null;
  usage?: AnthropicUsage;
}

/** Reads a `message` object: the text blocks joined, other blocks named. */
export function parseMessage(json: unknown, provider: string): ParsedCompletion {
  const message = json as AnthropicMessage;
  if (message?.type !== "message" || !Array.isArray(message.content)) {
    throw new GatewayError("unavailable", `${provider} answered with something that is not a message`, {
      reason: "UPSTREAM_MALFORMED",
    });
  }
  const nonText = new Set<NonTextContent>();
  let text = "";
  for (const block of message.content) {
    if (block.type === "text") text += block.text ?? "";
    const kind = nonTextKind(block.type);
    if (kind) nonText.add(kind);
  }
  return {
    id: message.id ?? "",
    text,
    finishReason: toFinishReason(message.stop_reason),
    usage: toUsage(message.usage),
    nonTextContent: [...nonText],
    toolCalls: [],
    reasoning: [],
    refusal: "",
  };
}
