import { afterAll, beforeAll } from "vitest";
import { PoolSchema } from "../../src/config/schema.js";
import { createAnthropicProvider } from "../../src/providers/anthropic/index.js";
import type { ChatMessage, ChatRequest, ChatStreamEvent, Provider } from "../../src/providers/provider.js";
import { UpstreamPools } from "../../src/upstream/upstream-pools.js";
import { type FakeAnthropic, startFakeAnthropic } from "../support/fakes/index.js";

export const KEY = "sk-ant-wire-0123456789";
export const PROVIDER = "anthropic-wire";
export const MAX_TOKENS = 4096;

export const user = (text: string): ChatMessage => ({ role: "user", content: [{ type: "text", text }] });

export const chat = (fields: Partial<ChatRequest> = {}): ChatRequest => ({
  model: "claude-x",
  messages: [user("Say hello")],
  stop: [],
  tools: [],
  ...fields,
});

/**
 * The Anthropic provider, a real HttpProvider through real UpstreamPools, to a fake Anthropic over
 * TLS HTTP/2; started before the file's tests and closed after them.
 */
export function anthropicOverFake(): { fake: () => FakeAnthropic; provider: () => Provider } {
  let fake: FakeAnthropic;
  let pools: UpstreamPools;
  let provider: Provider;
  beforeAll(async () => {
    fake = await startFakeAnthropic({ apiKey: KEY });
    pools = new UpstreamPools(PoolSchema.parse({ warm_up: false }));
    pools.register(fake.origin, { ca: fake.ca });
    provider = createAnthropicProvider(
      {
        name: PROVIDER,
        baseUrl: fake.origin,
        apiKey: KEY,
        version: "2023-06-01",
        auth: "x-api-key",
        defaultMaxTokens: MAX_TOKENS,
      },
      pools,
    );
  });
  afterAll(async () => {
    await pools?.close();
    await fake?.close();
  });
  return { fake: () => fake, provider: () => provider };
}

/** Every event of a stream, and the error that ended it instead of a finish (if one did). */
export async function eventsOf(
  provider: Provider,
  request: ChatRequest = chat(),
): Promise<{ events: ChatStreamEvent[]; error: unknown }> {
  const events: ChatStreamEvent[] = [];
  try {
    for await (const event of provider.stream(request, new AbortController().signal)) events.push(event);
    return { events, error: undefined };
  } catch (error) {
    return { events, error };
  }
}
