import type { ChatMessage, ChatRequest } from "../../src/providers/provider.js";

/** A user turn of plain text. */
export const userTurn = (text: string): ChatMessage => ({ role: "user", content: [{ type: "text", text }] });

/** A ChatRequest for `model` as the gateway hands it to a provider: one user turn unless `fields` say more. */
export const chatRequest = (model: string, fields: Partial<ChatRequest> = {}): ChatRequest => ({
  model,
  messages: [userTurn("Say hello")],
  stop: [],
  tools: [],
  ...fields,
});
