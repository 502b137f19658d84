import type { ChatMessage, ChatRequest, ContentDelta } from "../providers/provider.js";

/**
 * Token counts for calls that ended before their provider reported any (a stream cancelled or cut
 * off): about four characters of English text per token, the rule of thumb both providers give,
 * and a flat count per image. Usage marks such counts as estimated.
 */
const CHARS_PER_TOKEN = 4;
const TOKENS_PER_IMAGE = 1000;

export function estimateTokens(chars: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

/** The input tokens of a request: its system text, turns, tool calls and tool definitions. */
export function estimateInputTokens(request: Omit<ChatRequest, "model">): number {
  let chars = request.system?.length ?? 0;
  let images = 0;
  for (const message of request.messages) {
    for (const part of message.content) {
      if (part.type === "text") chars += part.text.length;
      else images += 1;
    }
    chars += assistantChars(message);
  }
  for (const tool of request.tools) chars += tool.name.length + JSON.stringify(tool.parameters).length;
  return estimateTokens(chars) + images * TOKENS_PER_IMAGE;
}

function assistantChars(message: ChatMessage): number {
  if (message.role !== "assistant") return 0;
  let chars = 0;
  for (const call of message.toolCalls) chars += call.name.length + call.arguments.length;
  for (const reasoning of message.reasoning) chars += reasoning.text.length;
  return chars;
}

/** The characters of output a stream's piece carried. */
export function deltaChars(delta: ContentDelta): number {
  switch (delta.type) {
    case "tool_call_delta":
      return delta.arguments.length + (delta.name?.length ?? 0);
    case "reasoning_delta":
      return delta.text?.length ?? 0;
    default:
      return delta.text.length;
  }
}
