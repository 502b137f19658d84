import type { ChatMessage, ChatRequest, ContentPart } from "../provider.js";
import { unsupported } from "../unsupported-field.js";

type TextPart = { type: "text"; text: string };
type ImagePart = { type: "image_url"; image_url: { url: string } };

/** A Chat Completions message, as sent. */
type WireMessage =
  | { role: "system"; content: string }
  | { role: "user"; content: string | (TextPart | ImagePart)[] }
  | {
      role: "assistant";
      content: string | null;
      tool_calls?: { id: string; type: "function"; function: { name: string; arguments: string } }[];
    }
  | { role: "tool"; tool_call_id: string; content: string | TextPart[] };

/** The request's system prompt and turns as Chat Completions `messages`. */
export function chatMessages(request: ChatRequest, provider: string): WireMessage[] {
  const messages: WireMessage[] = [];
  if (request.system !== undefined) messages.push({ role: "system", content: request.system });
  request.messages.forEach((message, i) => {
    messages.push(wireMessage(message, `messages[${i}]`, provider));
  });
  return messages;
}

function wireMessage(message: ChatMessage, field: string, provider: string): WireMessage {
  switch (message.role) {
    case "user":
      return { role: "user", content: content(message.content.map(userPart)) };
    case "assistant": {
      // Chat Completions has no field for reasoning in history (OpenAI keeps it server-side), so
      // an assistant turn's reasoning blocks are left out; the model answers without them.
      const text = textOnly(message.content, field, provider, "an assistant turn");
      const calls = message.toolCalls.map(({ id, name, arguments: args }) => ({
        id,
        type: "function" as const,
        function: { name, arguments: args },
      }));
      if (calls.length === 0) return { role: "assistant", content: joined(text) };
      // A turn of only tool calls has no content: OpenAI wants null there, not "".
      return { role: "assistant", content: text.length > 0 ? joined(text) : null, tool_calls: calls };
    }
    case "tool":
      // OpenAI has no error flag on a tool result: isError is not sent, the content says it.
      return {
        role: "tool",
        tool_call_id: message.toolCallId,
        content: content(textOnly(message.content, field, provider, "a tool result")),
      };
  }
}

/** One text part as a string, the way every client sends it; more parts as an array. */
function content<P extends TextPart | ImagePart>(parts: P[]): string | P[] {
  if (parts.length === 0) return "";
  const [only] = parts;
  return parts.length === 1 && only?.type === "text" ? only.text : parts;
}

function userPart(part: ContentPart): TextPart | ImagePart {
  if (part.type === "text") return { type: "text", text: part.text };
  const { image } = part;
  const url = "url" in image ? image.url : `data:${image.mediaType};base64,${image.base64}`;
  return { type: "image_url", image_url: { url } };
}

/** The text parts of a turn that may hold only text in Chat Completions; an image is refused. */
function textOnly(parts: ContentPart[], field: string, provider: string, where: string): TextPart[] {
  return parts.map((part, j) => {
    if (part.type === "image")
      throw unsupported(provider, `an image in ${where} (${field}.content[${j}])`, "only text goes there");
    return { type: "text", text: part.text };
  });
}

/** An assistant turn's text: one string, its parts joined as the model wrote them. */
const joined = (parts: TextPart[]) => parts.map((part) => part.text).join("");
