import { createGeminiProvider } from "../../src/providers/gemini/index.js";
import type { ChatRequest, Provider } from "../../src/providers/provider.js";
import { chatRequest, userTurn } from "../support/chat-request.js";
import { type FakeGemini, startFakeGemini } from "../support/fakes/fake-gemini.js";
import { providerOverFake, streamOf } from "../support/provider-over-fake.js";

/** Shaped like a real Google key, so redaction by shape is exercised too. */
export const KEY = "AIzaSyD-fake-gemini-key-0123456789abcdef";
export const PROVIDER = "gemini-wire";
export const MODEL = "gemini-x";

export const user = userTurn;

export const chat = (fields: Partial<ChatRequest> = {}): ChatRequest => chatRequest(MODEL, fields);

/** The Gemini provider over a fake Gemini, TLS HTTP/2 (HTTP/1.1 with http1Only); see providerOverFake. */
export function geminiOverFake(options: { http1Only?: boolean } = {}): {
  fake: () => FakeGemini;
  provider: () => Provider;
} {
  return providerOverFake(
    () => startFakeGemini({ apiKey: KEY, ...options }),
    (fake, pools) => createGeminiProvider({ name: PROVIDER, baseUrl: fake.origin, apiKey: KEY }, pools),
  );
}

/** Every event of a stream, and the error that ended it instead of a finish, by default for `chat()`. */
export const eventsOf = (provider: Provider, request: ChatRequest = chat()) => streamOf(provider, request);

/** Sends `request` unary and returns the JSON body the fake received (and accepted). */
export async function sentBody(
  fake: () => FakeGemini,
  provider: () => Provider,
  request: ChatRequest,
): Promise<unknown> {
  await provider().generate(request, new AbortController().signal);
  return fake().requests.at(-1)?.body;
}
