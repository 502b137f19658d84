import { createServer } from "node:net";
import { Code, type ConnectError } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { GenerateStreamResponse } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import {
  anthropicErrorBody,
  type ErrorScenario,
  type FakeAnthropic,
  type FakeOpenAI,
  openAIErrorBody,
  startFakeAnthropic,
  startFakeOpenAI,
} from "../support/fakes/index.js";
import {
  errorOf,
  generateRequest,
  type ProviderGateway,
  startProviderGateway,
  streamRequest,
  useFakeProvidersGateway,
} from "../support/provider-gateway.js";

const KEY = "sk-test-failures-0123456789abcdef";
const WRONG_KEY = "sk-wrong-0123456789abcdef";
const TEXT = "Hello world, from a fake.";
/**
 * Every call carries a deadline: a retry that would have to wait out a retry-after beyond it is
 * not made, so the provider's error comes back as it was.
 */
const CALL = { timeoutMs: 10_000 };

type Fake = FakeOpenAI | FakeAnthropic;

interface ProviderCase {
  name: "openai" | "anthropic";
  start: (options?: { apiKey?: string }) => Promise<Fake>;
  /** The error type and message the fake sends by default for `status`. */
  defaultError: (status: number) => { type: string; message: string };
}

const PROVIDERS: ProviderCase[] = [
  {
    name: "openai",
    start: ({ apiKey = KEY } = {}) => startFakeOpenAI({ apiKey }),
    defaultError: (status) => (openAIErrorBody(status) as { error: { type: string; message: string } }).error,
  },
  {
    name: "anthropic",
    start: ({ apiKey = KEY } = {}) => startFakeAnthropic({ apiKey }),
    defaultError: (status) =>
      (anthropicErrorBody(status, "req_x") as { error: { type: string; message: string } }).error,
  },
];

/** An upstream status and the Connect code it must become (codeName for the test's title). */
const mapping = (status: number, code: Code) => ({ status, code, codeName: Code[code] });

const STATUSES = [
  mapping(400, Code.InvalidArgument),
  mapping(413, Code.InvalidArgument),
  mapping(401, Code.Unauthenticated),
  mapping(402, Code.PermissionDenied),
  mapping(403, Code.PermissionDenied),
  mapping(404, Code.NotFound),
  mapping(429, Code.ResourceExhausted),
  mapping(500, Code.Internal),
  mapping(502, Code.Unavailable),
  mapping(503, Code.Unavailable),
  mapping(529, Code.Unavailable),
  mapping(504, Code.DeadlineExceeded),
];

/** Reads a stream until it fails: the text that arrived first, and the error. */
async function streamUntilError(
  stream: AsyncIterable<GenerateStreamResponse>,
): Promise<{ text: string; error: ConnectError }> {
  let text = "";
  const error = await errorOf(
    (async () => {
      for await (const { event } of stream) if (event.case === "delta") text += event.value.text;
    })(),
  );
  return { text, error };
}

/** A port nothing listens on: bound, then closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let modelCounter = 0;

describe.each(PROVIDERS)("$name failures", ({ name, start, defaultError }) => {
  let fake: Fake;
  let gw: ProviderGateway;
  // A fresh passthrough model per call, so no call inherits another's cooldown.
  const model = () => `${name}/model-${++modelCounter}`;
  const generate = () => gw.client.generate(generateRequest({ model: model() }), CALL);
  const stream = () => gw.client.generateStream(streamRequest({ model: model() }), CALL);

  beforeAll(async () => {
    fake = await start();
    gw = await startProviderGateway({ providers: { [name]: { type: name, upstream: fake, apiKey: KEY } } });
  });
  afterEach(() => {
    fake.respondAlways(undefined);
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it.each(STATUSES)("HTTP $status becomes $codeName, unary and streaming", async ({ status, code }) => {
    const scenario: ErrorScenario = { kind: "error", status, ...(status === 429 ? { retryAfter: 20 } : {}) };
    fake.respondAlways(scenario);
    const { type, message } = defaultError(status);
    for (const error of [await errorOf(generate()), (await streamUntilError(stream())).error]) {
      expect(error.code).toBe(code);
      expect(error.rawMessage).toContain(name);
      expect(error.rawMessage).toContain(type);
      expect(error.rawMessage).toContain(message);
      expect(error.rawMessage).toContain(`HTTP ${status}`);
      expect(error.metadata.get("weaver-error-reason")).toBe(`UPSTREAM_HTTP_${status}`);
      if (status === 429) {
        expect(error.metadata.get("retry-after")).toBe("20");
        expect(error.metadata.get("retry-after-ms")).toBe("20000");
      } else {
        expect(error.metadata.get("retry-after")).toBeNull();
      }
    }
  });

  it("passes retry-after-ms through, with retry-after rounded up to whole seconds", async () => {
    fake.respondAlways({ kind: "error", status: 429, retryAfter: 30, retryAfterMs: 12_345 });
    const error = await errorOf(generate());
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.metadata.get("retry-after-ms")).toBe("12345");
    expect(error.metadata.get("retry-after")).toBe("13");
  });

  it("reads an HTTP-date retry-after", async () => {
    const at = new Date(Date.now() + 60_000).toUTCString();
    fake.respondAlways({ kind: "error", status: 429, retryAfter: at });
    const error = await errorOf(generate());
    expect(error.code).toBe(Code.ResourceExhausted);
    const seconds = Number(error.metadata.get("retry-after"));
    expect(seconds).toBeGreaterThan(50);
    expect(seconds).toBeLessThanOrEqual(60);
  });

  it("reads an error body that is not JSON", async () => {
    fake.respondAlways({ kind: "error", status: 502, body: "<html><body>502 Bad Gateway</body></html>" });
    const error = await errorOf(generate());
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).toContain(name);
    expect(error.rawMessage).toContain("502 Bad Gateway");
  });

  it("a connection reset mid-stream fails the stream UNAVAILABLE, after the text that arrived", async () => {
    // Paced, so the events before the break have arrived when the connection goes.
    fake.respondWith({ kind: "stream", text: TEXT, eventDelayMs: 20, resetAfterEvents: 5 });
    const { text, error } = await streamUntilError(stream());
    expect(text.length).toBeGreaterThan(0);
    expect(TEXT.startsWith(text)).toBe(true);
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).toContain(fake.origin);
  });

  it("an HTTP/2 stream reset mid-stream fails the stream UNAVAILABLE", async () => {
    fake.respondWith({
      kind: "stream",
      text: TEXT,
      eventDelayMs: 20,
      resetAfterEvents: 5,
      resetMode: "stream",
    });
    const { text, error } = await streamUntilError(stream());
    expect(text.length).toBeGreaterThan(0);
    expect(error.code).toBe(Code.Unavailable);
  });

  it("a connection reset before any response is UNAVAILABLE, unary and streaming", async () => {
    fake.respondAlways({ kind: "reset" });
    const unary = await errorOf(generate());
    const streamed = (await streamUntilError(stream())).error;
    for (const error of [unary, streamed]) {
      expect(error.code).toBe(Code.Unavailable);
      expect(error.rawMessage).toContain(fake.origin);
      expect(error.metadata.get("weaver-error-reason")).toMatch(/^UPSTREAM_/);
    }
  });

  it("headers that never come are DEADLINE_EXCEEDED after the pool's request_timeout", async () => {
    const impatient = await startProviderGateway({
      providers: { [name]: { type: name, upstream: fake, apiKey: KEY } },
      pool: { request_timeout: "300ms" },
    });
    fake.respondAlways({ kind: "hang" });
    try {
      const unary = await errorOf(impatient.client.generate(generateRequest({ model: model() }), CALL));
      const streamed = (
        await streamUntilError(impatient.client.generateStream(streamRequest({ model: model() }), CALL))
      ).error;
      for (const error of [unary, streamed]) {
        expect(error.code).toBe(Code.DeadlineExceeded);
        expect(error.metadata.get("weaver-error-reason")).toBe("UPSTREAM_TIMEOUT");
      }
    } finally {
      await impatient.close();
    }
  });

  it("an unreachable upstream (a closed port) is UNAVAILABLE, unary and streaming", async () => {
    const origin = `https://127.0.0.1:${await closedPort()}`;
    const unreachable = await startProviderGateway({
      providers: { [name]: { type: name, upstream: { origin, ca: fake.ca }, apiKey: KEY } },
    });
    try {
      const unary = await errorOf(unreachable.client.generate(generateRequest({ model: model() }), CALL));
      const streamed = (
        await streamUntilError(unreachable.client.generateStream(streamRequest({ model: model() }), CALL))
      ).error;
      for (const error of [unary, streamed]) {
        expect(error.code).toBe(Code.Unavailable);
        expect(error.rawMessage).toContain(origin);
        expect(error.metadata.get("weaver-error-reason")).toBe("UPSTREAM_ECONNREFUSED");
      }
    } finally {
      await unreachable.close();
    }
  });

  it("a wrong key is UNAUTHENTICATED, and neither the key nor its masked echo reaches the caller or the logs", async () => {
    const wrong = await startProviderGateway({
      providers: { [name]: { type: name, upstream: fake, apiKey: WRONG_KEY } },
    });
    try {
      const unary = await errorOf(wrong.client.generate(generateRequest({ model: model() }), CALL));
      const streamed = (
        await streamUntilError(wrong.client.generateStream(streamRequest({ model: model() }), CALL))
      ).error;
      for (const error of [unary, streamed]) {
        expect(error.code).toBe(Code.Unauthenticated);
        expect(error.rawMessage).toContain(name);
        expect(error.metadata.get("weaver-error-reason")).toBe("UPSTREAM_HTTP_401");
        // OpenAI quotes the key masked (sk-wro*********cdef); nothing key-shaped may pass.
        expect(error.rawMessage).not.toMatch(/sk-|cdef/);
      }
      expect(wrong.logLines.length).toBeGreaterThan(0);
      expect(wrong.logLines.filter((line) => /sk-wro|0123456789abcdef/.test(line))).toEqual([]);
    } finally {
      await wrong.close();
    }
  });

  it("an upstream that echoes the whole key, of whatever shape, does not pass it on", async () => {
    const azureStyleKey = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    const azureFake = await start({ apiKey: azureStyleKey });
    const echoing = await startProviderGateway({
      providers: { [name]: { type: name, upstream: azureFake, apiKey: azureStyleKey } },
    });
    azureFake.respondAlways({
      kind: "error",
      status: 400,
      message: `key ${azureStyleKey} is not valid here`,
    });
    try {
      const error = await errorOf(echoing.client.generate(generateRequest({ model: model() }), CALL));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage).toContain("is not valid here");
      expect(error.rawMessage).not.toContain(azureStyleKey);
      expect(echoing.logLines.filter((line) => line.includes(azureStyleKey))).toEqual([]);
    } finally {
      await echoing.close();
      await azureFake.close();
    }
  });

  it("no log line of the shared gateway carries the key", () => {
    expect(gw.logLines.length).toBeGreaterThan(0);
    expect(gw.logLines.filter((line) => line.includes(KEY))).toEqual([]);
  });
});

describe("errors inside a stream that had answered 200", () => {
  const upstreams = useFakeProvidersGateway(KEY);

  const CASES = [
    {
      what: "an Anthropic error event (overloaded_error)",
      model: "anthropic/claude-x",
      script: () => upstreams.anthropic.respondWith({ kind: "stream", flavour: "error-event", text: TEXT }),
      text: "Hello",
      code: Code.Unavailable,
      words: ["anthropic", "overloaded_error", "Overloaded"],
    },
    {
      what: "an Anthropic error event (rate_limit_error)",
      model: "anthropic/claude-x",
      script: () =>
        upstreams.anthropic.respondWith({
          kind: "stream",
          text: TEXT,
          errorAfterEvents: 5,
          errorType: "rate_limit_error",
          errorMessage: "Slow down",
        }),
      text: "Hello world,",
      code: Code.ResourceExhausted,
      words: ["anthropic", "rate_limit_error", "Slow down"],
    },
    {
      what: "an OpenAI in-stream error object",
      model: "openai/gpt-4o-mini",
      script: () =>
        upstreams.openai.respondWith({
          kind: "stream",
          text: TEXT,
          errorAfterEvents: 3,
          errorMessage: "Boom",
        }),
      text: "Hello world,",
      code: Code.Internal,
      words: ["openai", "server_error", "Boom"],
    },
    {
      what: "an OpenRouter error chunk (code 400)",
      model: "openai/gpt-4o-mini",
      script: () =>
        upstreams.openai.respondWith({
          kind: "stream",
          flavour: "openrouter",
          text: TEXT,
          errorAfterEvents: 4, // two comments, the role chunk, one delta
          errorMessage: "Provider returned error",
        }),
      text: "Hello",
      code: Code.InvalidArgument,
      words: ["openai", "Provider returned error"],
    },
  ];

  it.each(CASES)("$what fails the stream with a message naming provider and error", async (c) => {
    c.script();
    const { text, error } = await streamUntilError(
      upstreams.gw.client.generateStream(streamRequest({ model: c.model }), CALL),
    );
    expect(text).toBe(c.text);
    expect(error.code).toBe(c.code);
    for (const word of c.words) expect(error.rawMessage).toContain(word);
    expect(error.rawMessage).toContain("in the stream");
    expect(error.metadata.get("weaver-error-reason")).toBe("UPSTREAM_STREAM_ERROR");
  });

  it("an Anthropic stream answered with an HTTP 529 error body is UNAVAILABLE", async () => {
    upstreams.anthropic.respondAlways({ kind: "stream", flavour: "json-error-on-stream" });
    try {
      const { error } = await streamUntilError(
        upstreams.gw.client.generateStream(streamRequest({ model: "anthropic/c2" }), CALL),
      );
      expect(error.code).toBe(Code.Unavailable);
      expect(error.rawMessage).toContain("overloaded_error");
      expect(error.metadata.get("weaver-error-reason")).toBe("UPSTREAM_HTTP_529");
    } finally {
      upstreams.anthropic.respondAlways(undefined);
    }
  });
});
