import { createOpenAIProvider } from "../../src/providers/openai/index.js";
import type { ChatRequest, Provider } from "../../src/providers/provider.js";
import { type FakeOpenAI, startFakeOpenAI } from "../support/fakes/index.js";
import { providerOverFake, streamOf as streamOfChat } from "../support/provider-over-fake.js";

export const KEY = "sk-openai-wire-0123456789";
export const PROVIDER = "openai-wire";

/** A user turn of one text part. */
export const ask = (text: string): ChatRequest["messages"][number] => ({
  role: "user",
  content: [{ type: "text", text }],
});

export const request = (fields: Partial<ChatRequest> = {}): ChatRequest => ({
  model: "gpt-4o-mini",
  messages: [ask("Say hello")],
  stop: [],
  tools: [],
  ...fields,
});

/** The OpenAI provider over a fake OpenAI, TLS HTTP/2 (or cleartext HTTP/1.1); see providerOverFake. */
export function openAIOverFake(options: { cleartext?: boolean } = {}): {
  fake: () => FakeOpenAI;
  provider: () => Provider;
} {
  return providerOverFake(
    () => startFakeOpenAI({ apiKey: KEY, ...options }),
    (fake, pools) =>
      createOpenAIProvider({ name: PROVIDER, baseUrl: `${fake.origin}/v1`, apiKey: KEY }, pools),
  );
}

/** A stream's events and how it ended (see providerOverFake's streamOf), by default for `request()`. */
export const streamOf = (provider: Provider, chat: ChatRequest = request()) => streamOfChat(provider, chat);

/** The JSON body the fake received last. */
export function lastBody(fake: FakeOpenAI): unknown {
  return JSON.parse(fake.requests.at(-1)?.rawBody ?? "null");
}
