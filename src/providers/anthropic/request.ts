import type { ChatRequest, ContentPart } from "../provider.js";

/** The body of `POST /v1/messages`: the system prompt at the top level, max_tokens always sent. */
export function messagesBody(request: ChatRequest, stream: boolean, defaultMaxTokens: number): string {
  return JSON.stringify({
    model: request.model,
    max_tokens: request.maxTokens ?? defaultMaxTokens,
    messages: request.messages.map((message) => ({ role: message.role, content: textOf(message.content) })),
    system: request.system,
    temperature: request.temperature,
    top_p: request.topP,
    stop_sequences: request.stop.length > 0 ? request.stop : undefined,
    ...(stream ? { stream: true } : {}),
  });
}

const textOf = (parts: ContentPart[]) =>
  parts.map((part) => (part.type === "text" ? part.text : "")).join("");
