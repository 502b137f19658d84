import { once } from "node:events";
import { afterAll, describe, expect, it } from "vitest";
import { PoolSchema } from "../../src/config/schema.js";
import { createGeminiProvider } from "../../src/providers/gemini/index.js";
import type { ChatStreamEvent } from "../../src/providers/provider.js";
import { UpstreamPools } from "../../src/upstream/upstream-pools.js";
import { DEFAULT_GEMINI_THOUGHT } from "../support/fakes/gemini-format.js";
import { countWords, DEFAULT_TEXT, tokenize } from "../support/fakes/text.js";
import { streamOf } from "../support/provider-over-fake.js";
import { chat, geminiOverFake, KEY, MODEL, PROVIDER } from "../unit/gemini-wire-harness.js";

const TEXT = "Hello world, from a fake.";
const INPUT = countWords("Say hello");
const generate = (provider: ReturnType<typeof geminiOverFake>["provider"], fields = {}) =>
  provider().generate(chat(fields), new AbortController().signal);

describe.each([
  { name: "HTTP/2", http1Only: false, protocol: "h2", httpVersion: "2.0" },
  { name: "HTTP/1.1", http1Only: true, protocol: "http/1.1", httpVersion: "1.1" },
])("Gemini provider over $name", ({ http1Only, protocol, httpVersion }) => {
  const { fake, provider } = geminiOverFake({ http1Only });

  it("answers a unary call with the text, finish and usage, from :generateContent", async () => {
    fake().respondWith({ kind: "answer", text: TEXT, cachedTokens: 3 });
    const result = await generate(provider);
    expect(result).toMatchObject({
      text: TEXT,
      finishReason: "stop",
      usage: { inputTokens: INPUT + 3, outputTokens: tokenize(TEXT).length, cachedInputTokens: 3 },
      upstream: { origin: fake().origin, protocol },
    });
    expect(fake().requests.at(-1)).toMatchObject({
      path: `/v1beta/models/${MODEL}:generateContent`,
      httpVersion,
      headers: { "x-goog-api-key": KEY },
    });
  });

  it("streams from :streamGenerateContent?alt=sse: start, deltas in order, one finish", async () => {
    fake().respondWith({ kind: "answer", text: TEXT, wordsPerChunk: 1 });
    const { events, finish, error } = await streamOf(provider(), chat());
    expect(error).toBeUndefined();
    expect(events[0]).toMatchObject({
      type: "start",
      id: expect.stringMatching(/^\w{22}$/),
      upstream: { protocol },
    });
    expect(events.filter((e) => e.type === "delta").map((e) => (e as { text: string }).text)).toEqual(
      tokenize(TEXT),
    );
    expect(finish).toMatchObject({ finishReason: "stop", usage: { inputTokens: INPUT, outputTokens: 5 } });
    expect(events.at(-1)).toBe(finish);
    expect(fake().requests.at(-1)).toMatchObject({
      path: `/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`,
      httpVersion,
    });
  });

  it("streams thinking and reads it back the same unary", async () => {
    fake().respondWith({ kind: "answer" }, { kind: "answer" });
    const stream = await streamOf(provider(), chat({ reasoningEffort: "high" }));
    const unary = await generate(provider, { reasoningEffort: "high" });
    for (const reasoning of [stream.finish?.reasoning, unary.reasoning])
      expect(reasoning).toEqual([
        { text: DEFAULT_GEMINI_THOUGHT },
        { text: "", signature: expect.any(String) },
      ]);
    expect(unary.text).toBe(DEFAULT_TEXT);
  });

  it("reuses the pooled connection for the next request", async () => {
    await generate(provider);
    const connections = fake().connections;
    const [first, second] = [await generate(provider), await generate(provider)];
    expect(first.upstream.connectionReused).toBe(true);
    expect(second.upstream.connectionReused).toBe(true);
    expect(fake().connections).toBe(connections);
  });

  it("reads a blocked prompt as content_filter, unary and streamed", async () => {
    fake().respondWith(
      { kind: "answer", flavour: "blocked-prompt", blockReason: "PROHIBITED_CONTENT" },
      { kind: "answer", flavour: "blocked-prompt" },
    );
    expect(await generate(provider)).toMatchObject({
      text: "",
      finishReason: "content_filter",
      toolCalls: [],
    });
    const { events, finish } = await streamOf(provider(), chat());
    expect(events.filter((e) => e.type === "delta")).toEqual([]);
    expect(finish).toMatchObject({
      finishReason: "content_filter",
      usage: { inputTokens: INPUT, outputTokens: 0 },
    });
  });
});

describe("Gemini provider failures", () => {
  const { fake, provider } = geminiOverFake();

  const FAILURES = [
    { status: 400, type: "INVALID_ARGUMENT", kind: "invalid_argument", retryable: false },
    { status: 400, type: "FAILED_PRECONDITION", kind: "invalid_argument", retryable: false },
    { status: 401, type: "UNAUTHENTICATED", kind: "unauthenticated", retryable: false },
    { status: 403, type: "PERMISSION_DENIED", kind: "permission_denied", retryable: false },
    { status: 404, type: "NOT_FOUND", kind: "not_found", retryable: false },
    { status: 429, type: "RESOURCE_EXHAUSTED", kind: "resource_exhausted", retryable: true, retryAfter: 12 },
    { status: 500, type: "INTERNAL", kind: "internal", retryable: true },
    { status: 503, type: "UNAVAILABLE", kind: "unavailable", retryable: true, retryAfter: 2 },
    { status: 504, type: "DEADLINE_EXCEEDED", kind: "deadline_exceeded", retryable: true },
  ] as const;

  it.each(FAILURES)(
    "maps HTTP $status $type to $kind (retryable: $retryable), unary and streamed",
    async ({ status, type, kind, retryable, ...rest }) => {
      const retryAfter = "retryAfter" in rest ? rest.retryAfter : undefined;
      const scenario = { kind: "error", status, type, ...(retryAfter ? { retryAfter } : {}) } as const;
      fake().respondWith(scenario, scenario);
      const unary = await generate(provider).catch((e: unknown) => e);
      const { error: streamed } = await streamOf(provider(), chat());
      for (const error of [unary, streamed]) {
        expect(error).toMatchObject({ kind, retryable, status, reason: `UPSTREAM_HTTP_${status}` });
        expect((error as Error).message).toContain(`${PROVIDER} ${type}: `);
        expect((error as { retryAfterMs?: number }).retryAfterMs).toBe(
          retryAfter ? retryAfter * 1000 : undefined,
        );
      }
      // The fake sends RetryInfo in the body, never a retry-after header: the wait came from the body.
      expect(fake().requests.length).toBeGreaterThan(0);
    },
  );

  it("reads a wrong key (Google's 400 API_KEY_INVALID) as unauthenticated, and an echoed key is never repeated", async () => {
    const pools = new UpstreamPools(PoolSchema.parse({ warm_up: false }));
    pools.register(fake().origin, { ca: fake().ca });
    const wrongKey = "AIzaSyWRONG-0123456789abcdefghijklmnopq";
    const wrong = createGeminiProvider({ name: PROVIDER, baseUrl: fake().origin, apiKey: wrongKey }, pools);
    try {
      const error = await wrong.generate(chat(), new AbortController().signal).catch((e: unknown) => e);
      expect(error).toMatchObject({ kind: "unauthenticated", retryable: false, status: 400 });
      expect((error as Error).message).toContain("API key not valid");
      const keyless = createGeminiProvider({ name: PROVIDER, baseUrl: fake().origin }, pools);
      const denied = await keyless.generate(chat(), new AbortController().signal).catch((e: unknown) => e);
      expect(denied).toMatchObject({ kind: "permission_denied", status: 403 });
    } finally {
      await pools.close();
    }
    fake().respondWith({
      kind: "error",
      status: 403,
      message: `Your API key ${KEY} was reported as leaked.`,
    });
    const leaked = await generate(provider).catch((e: unknown) => e);
    expect((leaked as Error).message).toContain("was reported as leaked");
    expect((leaked as Error).message).not.toContain(KEY);
  });

  it("fails unavailable when the connection breaks before an answer, and mid-stream", async () => {
    fake().respondWith({ kind: "reset" });
    expect(await generate(provider).catch((e: unknown) => e)).toMatchObject({ kind: "unavailable" });
    fake().respondWith({
      kind: "stream",
      text: "one two three four five six",
      wordsPerChunk: 1,
      resetAfterEvents: 3,
      eventDelayMs: 2,
    });
    const { events, error } = await streamOf(provider(), chat());
    expect(events.filter((e) => e.type === "delta").length).toBe(3);
    expect(events.some((e) => e.type === "finish")).toBe(false);
    expect(error).toMatchObject({ kind: "unavailable" });
  });
});

describe("Gemini provider cancellation over HTTP/2", () => {
  const { fake, provider } = geminiOverFake();
  const LONG = Array.from({ length: 40 }, (_, i) => `word${i}`).join(" ");

  afterAll(() => {
    fake().respondAlways(undefined);
  });

  it("a cancelled stream resets its upstream HTTP/2 stream within 100 ms; a sibling on its connection completes", async () => {
    await generate(provider); // a live connection
    const connections = fake().connections;
    const sibling = "I am the sibling";
    fake().respondAlways((request) =>
      request.rawBody.includes(sibling)
        ? { kind: "stream", text: TEXT, wordsPerChunk: 1, eventDelayMs: 60 }
        : { kind: "stream", text: LONG, wordsPerChunk: 1, eventDelayMs: 25 },
    );
    const aborted = once(fake(), "abort", { signal: AbortSignal.timeout(5_000) }) as Promise<[number]>;
    const controller = new AbortController();
    const victim = provider().stream(chat(), controller.signal)[Symbol.asyncIterator]();
    let deltas = 0;
    while (deltas < 2) {
      const { value } = await victim.next();
      if ((value as ChatStreamEvent | undefined)?.type === "delta") deltas++;
    }
    const siblingDone = streamOf(
      provider(),
      chat({ messages: [{ role: "user", content: [{ type: "text", text: sibling }] }] }),
    );
    const cancelledAt = performance.now();
    controller.abort();
    await expect(victim.next()).rejects.toMatchObject({ kind: "cancelled" });
    const [abortAt] = await aborted;
    expect(abortAt - cancelledAt).toBeLessThan(100);
    const done = await siblingDone;
    expect(done.error).toBeUndefined();
    expect(done.finish?.finishReason).toBe("stop");
    expect(done.events[0]).toMatchObject({ upstream: { protocol: "h2", connectionReused: true } });
    expect(fake().connections).toBe(connections);
  });
});
