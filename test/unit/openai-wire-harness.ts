import { afterAll, beforeAll } from "vitest";
import { PoolSchema } from "../../src/config/schema.js";
import { createOpenAIProvider } from "../../src/providers/openai/index.js";
import type { ChatRequest, ChatStreamEvent, Provider, StreamFinish } from "../../src/providers/provider.js";
import { UpstreamPools } from "../../src/upstream/upstream-pools.js";
import { type FakeOpenAI, startFakeOpenAI } from "../support/fakes/index.js";

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

/**
 * The OpenAI provider, a real HttpProvider through real UpstreamPools, to a fake OpenAI over TLS
 * HTTP/2 (or cleartext HTTP/1.1); started before the file's tests and closed after them.
 */
export function openAIOverFake(options: { cleartext?: boolean } = {}): {
  fake: () => FakeOpenAI;
  provider: () => Provider;
} {
  let fake: FakeOpenAI;
  let pools: UpstreamPools;
  let provider: Provider;
  beforeAll(async () => {
    fake = await startFakeOpenAI({ apiKey: KEY, ...options });
    pools = new UpstreamPools(PoolSchema.parse({ warm_up: false }));
    pools.register(fake.origin, { ca: fake.ca });
    provider = createOpenAIProvider({ name: PROVIDER, baseUrl: `${fake.origin}/v1`, apiKey: KEY }, pools);
  });
  afterAll(async () => {
    await pools?.close();
    await fake?.close();
  });
  return { fake: () => fake, provider: () => provider };
}

/** A stream's events and how it ended: its finish, or the error it threw instead. */
export async function streamOf(
  provider: Provider,
  chat: ChatRequest = request(),
): Promise<{ events: ChatStreamEvent[]; finish: StreamFinish | undefined; error: unknown }> {
  const events: ChatStreamEvent[] = [];
  let error: unknown;
  try {
    for await (const event of provider.stream(chat, new AbortController().signal)) events.push(event);
  } catch (caught) {
    error = caught;
  }
  const finish = events.find((event): event is StreamFinish => event.type === "finish");
  return { events, finish, error };
}

/** The JSON body the fake received last. */
export function lastBody(fake: FakeOpenAI): unknown {
  return JSON.parse(fake.requests.at(-1)?.rawBody ?? "null");
}
