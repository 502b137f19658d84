import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PoolSchema } from "../../src/config/schema.js";
import { GatewayError } from "../../src/errors/gateway-error.js";
import { createAnthropicProvider } from "../../src/providers/anthropic/index.js";
import { createOpenAIProvider } from "../../src/providers/openai/index.js";
import type { ChatRequest, ChatStreamEvent, Provider } from "../../src/providers/provider.js";
import { isRetryable } from "../../src/router/retry-policy.js";
import { UpstreamPools } from "../../src/upstream/upstream-pools.js";
import {
  DEFAULT_TEXT,
  type FakeAnthropic,
  type FakeOpenAI,
  startFakeAnthropic,
  startFakeOpenAI,
} from "../support/fakes/index.js";

const KEY = "sk-http-provider-0123456789";
const REQUEST: ChatRequest = {
  model: "m",
  messages: [{ role: "user", content: [{ type: "text", text: "Say hello" }] }],
  stop: [],
  tools: [],
};

/**
 * HttpProvider through a real UpstreamPools to the fake upstreams, which speak the providers'
 * formats: over TLS HTTP/2 (OpenAI, Anthropic) and cleartext HTTP/1.1 (Anthropic).
 */
let pools: UpstreamPools;
let openai: FakeOpenAI;
let anthropicH2: FakeAnthropic;
let anthropicH1: FakeAnthropic;
let providers: { openai: Provider; "anthropic-h2": Provider; "anthropic-h1": Provider };

beforeAll(async () => {
  [openai, anthropicH2, anthropicH1] = await Promise.all([
    startFakeOpenAI({ apiKey: KEY }),
    startFakeAnthropic({ apiKey: KEY }),
    startFakeAnthropic({ apiKey: KEY, cleartext: true }),
  ]);
  pools = new UpstreamPools(PoolSchema.parse({ warm_up: false }));
  const anthropic = (name: string, fake: FakeAnthropic) => {
    pools.register(fake.origin, { ca: fake.ca });
    const options = { name, baseUrl: fake.origin, apiKey: KEY, version: "2023-06-01", defaultMaxTokens: 64 };
    return createAnthropicProvider({ ...options, auth: "x-api-key" }, pools);
  };
  pools.register(openai.origin, { ca: openai.ca });
  providers = {
    openai: createOpenAIProvider({ name: "openai", baseUrl: `${openai.origin}/v1`, apiKey: KEY }, pools),
    "anthropic-h2": anthropic("anthropic-h2", anthropicH2),
    "anthropic-h1": anthropic("anthropic-h1", anthropicH1),
  };
});
afterAll(async () => {
  await pools.close();
  await Promise.all([openai, anthropicH2, anthropicH1].map((fake) => fake.close()));
});

// A fault must end one call with an error, never reach the process: an 'error' event with no
// listener or a rejection nobody handles would end a real gateway. Every test fails on either.
const escaped: unknown[] = [];
const onEscaped = (error: unknown) => escaped.push(error);
beforeEach(() => {
  escaped.length = 0;
  process.on("uncaughtException", onEscaped);
  process.on("unhandledRejection", onEscaped);
});
afterEach(async () => {
  // Errors emitted by a destroyed body come on the next tick; a macrotask turn lets them show.
  await new Promise((resolve) => setImmediate(resolve));
  process.off("uncaughtException", onEscaped);
  process.off("unhandledRejection", onEscaped);
  expect(escaped).toEqual([]);
});

async function readStream(provider: Provider, signal = new AbortController().signal) {
  const events: ChatStreamEvent[] = [];
  let error: unknown;
  try {
    for await (const event of provider.stream(REQUEST, signal)) events.push(event);
  } catch (caught) {
    error = caught;
  }
  const text = events.map((e) => (e.type === "delta" ? e.text : "")).join("");
  return { events, text, error };
}

/** The failure a call ended with, as the router sees it; fails the test when the call succeeds. */
async function failureOf(call: Promise<unknown>): Promise<GatewayError> {
  const error = await call.then(
    () => expect.fail("the call succeeded"),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(GatewayError);
  return error as GatewayError;
}

describe("HttpProvider", () => {
  it("sends to the base URL's path with the format's headers, and says how the request travelled", async () => {
    const first = await providers.openai.generate(REQUEST, new AbortController().signal);
    const second = await providers.openai.generate(REQUEST, new AbortController().signal);
    expect(first).toMatchObject({ text: DEFAULT_TEXT, finishReason: "stop" });
    expect(first.upstream).toMatchObject({ origin: openai.origin, protocol: "h2", connectionReused: false });
    expect(second.upstream.connectionReused).toBe(true);
    const request = openai.requests.at(-1);
    expect(request).toMatchObject({ method: "POST", path: "/v1/chat/completions" });
    expect(request?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(request?.body).toMatchObject({ model: "m", messages: [{ role: "user", content: "Say hello" }] });
  });

  it.each(["openai", "anthropic-h2", "anthropic-h1"] as const)(
    "streams %s: a start with the upstream facts, the text in deltas, one finish",
    async (name) => {
      const fake = name === "openai" ? openai : name === "anthropic-h2" ? anthropicH2 : anthropicH1;
      fake.respondWith({ kind: "stream", text: "Grüße aus Köln", chunkBytes: 1 });
      const { events, text, error } = await readStream(providers[name]);
      expect(error).toBeUndefined();
      expect(text).toBe("Grüße aus Köln");
      expect(events[0]).toMatchObject({ type: "start", upstream: { origin: fake.origin } });
      expect(events.filter((e) => e.type === "finish")).toHaveLength(1);
      expect(events.at(-1)).toMatchObject({ type: "finish", finishReason: "stop" });
    },
  );

  it("reads a finished stream to its end instead of resetting it", async () => {
    const aborts = anthropicH2.aborts;
    const { error } = await readStream(providers["anthropic-h2"]);
    expect(error).toBeUndefined();
    // Ordered, not timed: the next request on the connection comes after any reset of the last.
    await providers["anthropic-h2"].generate(REQUEST, new AbortController().signal);
    expect(anthropicH2.aborts).toBe(aborts);
  });

  it("resets the upstream stream when the caller stops reading early", async () => {
    const aborts = anthropicH2.aborts;
    anthropicH2.respondWith({ kind: "stream", text: "one two three four", eventDelayMs: 5 });
    for await (const event of providers["anthropic-h2"].stream(REQUEST, new AbortController().signal)) {
      if (event.type === "delta") break;
    }
    await providers["anthropic-h2"].generate(REQUEST, new AbortController().signal);
    expect(anthropicH2.aborts).toBe(aborts + 1);
  });
});

// Issue 11: an error event after a 200, in pieces of a few bytes, killed the process.
describe("an error event in the stream, in small pieces", () => {
  it.each([
    { name: "anthropic-h1", chunkBytes: 1 },
    { name: "anthropic-h1", chunkBytes: 3 },
    { name: "anthropic-h2", chunkBytes: 3 },
  ] as const)(
    "$name in $chunkBytes-byte pieces ends the stream with overloaded_error, and the pool serves on",
    async ({ name, chunkBytes }) => {
      const fake = name === "anthropic-h1" ? anthropicH1 : anthropicH2;
      fake.respondWith({ kind: "stream", text: "Hello world", errorAfterEvents: 0, chunkBytes });
      const { error, text } = await readStream(providers[name]);
      expect(error).toBeInstanceOf(GatewayError);
      expect(error).toMatchObject({ kind: "unavailable" });
      expect(String((error as Error).message)).toContain("overloaded_error");
      expect(text).toBe("");
      const next = await readStream(providers[name]);
      expect(next).toMatchObject({ error: undefined, text: DEFAULT_TEXT });
    },
  );

  it("an OpenAI-compatible error object mid-stream in 2-byte pieces ends the stream after its text", async () => {
    openai.respondWith({
      kind: "stream",
      flavour: "openrouter",
      text: "Hello world",
      errorAfterEvents: 2,
      errorMessage: "Provider died",
      chunkBytes: 2,
    });
    const { error, events } = await readStream(providers.openai);
    expect(error).toBeInstanceOf(GatewayError);
    expect(String((error as Error).message)).toContain("Provider died");
    expect(events.some((e) => e.type === "finish")).toBe(false);
    expect((await readStream(providers.openai)).text).toBe(DEFAULT_TEXT);
  });
});

// A request that reached the upstream may have been billed: it is not sent again.
describe("whether a failure may be retried", () => {
  it("may retry a request that never reached the upstream (nothing listens)", async () => {
    const closed = await startFakeOpenAI({ apiKey: KEY });
    const origin = closed.origin;
    await closed.close();
    pools.register(origin, { ca: closed.ca });
    const provider = createOpenAIProvider({ name: "gone", baseUrl: `${origin}/v1`, apiKey: KEY }, pools);
    const error = await failureOf(provider.generate(REQUEST, new AbortController().signal));
    expect(error).toMatchObject({ kind: "unavailable", reason: "UPSTREAM_ECONNREFUSED", delivered: false });
    expect(isRetryable(error)).toBe(true);
  });

  it("does not retry a request whose connection broke after it arrived, before any response", async () => {
    openai.respondWith({ kind: "reset" });
    const error = await failureOf(providers.openai.generate(REQUEST, new AbortController().signal));
    expect(error).toMatchObject({ kind: "unavailable", retryable: true, delivered: true });
    expect(error.message).toContain("after the request reached");
    expect(isRetryable(error)).toBe(false);
  });

  it("may retry an error status: the upstream refused the request", async () => {
    anthropicH2.respondWith({ kind: "error", status: 529 });
    const error = await failureOf(providers["anthropic-h2"].generate(REQUEST, new AbortController().signal));
    expect(error).toMatchObject({ retryable: true, delivered: false, status: 529 });
    expect(isRetryable(error)).toBe(true);
  });

  it("does not retry a unary answer cut after its headers", async () => {
    anthropicH1.respondWith({
      kind: "raw",
      status: 200,
      headers: { "content-type": "application/json", "content-length": "400" },
      chunks: ['{"id":"msg_01","type":"mess', "age"],
      resetAfterEvents: 1,
    });
    const error = await failureOf(providers["anthropic-h1"].generate(REQUEST, new AbortController().signal));
    expect(error).toMatchObject({ kind: "unavailable", delivered: true });
    expect(isRetryable(error)).toBe(false);
  });

  // On HTTP/2 an RST_STREAM: it follows the headers on the wire, where a destroyed session could
  // cut them off before they were sent.
  it.each(["anthropic-h1", "anthropic-h2"] as const)(
    "does not retry a stream %s broke after its headers",
    async (name) => {
      const fake = name === "anthropic-h1" ? anthropicH1 : anthropicH2;
      fake.respondWith({ kind: "stream", text: "one two three", resetAfterEvents: 2, resetMode: "stream" });
      const { error } = await readStream(providers[name]);
      expect(error).toMatchObject({ delivered: true });
      expect(isRetryable(error)).toBe(false);
      expect((await readStream(providers[name])).text).toBe(DEFAULT_TEXT);
    },
  );
});
