import { GatewayError } from "../../errors/gateway-error.js";
import type { NonTextContent, ParsedCompletion, Reasoning, ToolCall } from "../provider.js";
import {
  type AnthropicStopDetails,
  type AnthropicUsage,
  nonTextKind,
  refusalOf,
  toFinishReason,
  toUsage,
} from "./stop-reason.js";

interface ContentBlock {
  type?: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
  thinking?: string;
  signature?: string;
  data?: string;
}

interface AnthropicMessage {
  id?: string;
  type?: string;
  content?: ContentBlock[];
  stop_reason?: string | null;
  stop_details?: AnthropicStopDetails | null;
  usage?: AnthropicUsage;
}

/** Reads a `message` object: text blocks joined, tool_use blocks as calls, thinking as reasoning. */
export function parseMessage(json: unknown, provider: string): ParsedCompletion {
  const message = json as AnthropicMessage;
  if (message?.type !== "message" || !Array.isArray(message.content)) {
    throw new GatewayError("unavailable", `${provider} answered with something that is not a message`, {
      reason: "UPSTREAM_MALFORMED",
    });
  }
  const nonText = new Set<NonTextContent>();
  const toolCalls: ToolCall[] = [];
  const reasoning: Reasoning[] = [];
  let text = "";
  for (const block of message.content) {
    if (block.type === "text") text += block.text ?? "";
    else if (block.type === "tool_use")
      toolCalls.push({
        id: block.id ?? "",
        name: block.name ?? "",
        arguments: JSON.stringify(block.input ?? {}),
      });
    else if (block.type === "thinking")
      reasoning.push({
        text: block.thinking ?? "",
        ...(block.signature ? { signature: block.signature } : {}),
      });
    else if (block.type === "redacted_thinking") reasoning.push({ text: "", redactedData: block.data ?? "" });
    const kind = nonTextKind(block.type);
    if (kind) nonText.add(kind);
  }
  return {
    id: message.id ?? "",
    text,
    finishReason: toFinishReason(message.stop_reason),
    usage: toUsage(message.usage),
    nonTextContent: [...nonText],
    toolCalls,
    reasoning,
    refusal: message.stop_reason === "refusal" ? refusalOf(message.stop_details) : "",
  };
}
