import type { ChatRequest, ContentPart } from "../provider.js";

/** The body of `POST /chat/completions` for a ChatRequest. */
export function chatCompletionBody(request: ChatRequest, stream: boolean): string {
  const messages: { role: string; content: string }[] = [];
  if (request.system !== undefined) messages.push({ role: "system", content: request.system });
  for (const message of request.messages)
    messages.push({ role: message.role, content: textOf(message.content) });
  return JSON.stringify({
    model: request.model,
    messages,
    max_tokens: request.maxTokens,
    temperature: request.temperature,
    top_p: request.topP,
    stop: request.stop.length > 0 ? request.stop : undefined,
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
}

const textOf = (parts: ContentPart[]) =>
  parts.map((part) => (part.type === "text" ? part.text : "")).join("");
