import { createAnthropicProvider } from "../../src/providers/anthropic/index.js";
import type { ChatRequest, Provider } from "../../src/providers/provider.js";
import { chatRequest, userTurn } from "../support/chat-request.js";
import { type FakeAnthropic, startFakeAnthropic } from "../support/fakes/index.js";
import { providerOverFake, streamOf } from "../support/provider-over-fake.js";

export const KEY = "sk-ant-wire-0123456789";
export const PROVIDER = "anthropic-wire";
export const MAX_TOKENS = 4096;

export const user = userTurn;

export const chat = (fields: Partial<ChatRequest> = {}): ChatRequest => chatRequest("claude-x", fields);

/** The Anthropic provider over a fake Anthropic, TLS HTTP/2; see providerOverFake. */
export function anthropicOverFake(): { fake: () => FakeAnthropic; provider: () => Provider } {
  return providerOverFake(
    () => startFakeAnthropic({ apiKey: KEY }),
    (fake, pools) =>
      createAnthropicProvider(
        {
          name: PROVIDER,
          baseUrl: fake.origin,
          apiKey: KEY,
          version: "2023-06-01",
          auth: "x-api-key",
          defaultMaxTokens: MAX_TOKENS,
        },
        pools,
      ),
  );
}

/** Every event of a stream, and the error that ended it instead of a finish, by default for `chat()`. */
export const eventsOf = (provider: Provider, request: ChatRequest = chat()) => streamOf(provider, request);
