import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors/gateway-error.js";
import type { ChatStreamEvent } from "../../src/providers/provider.js";
import {
  converseStreamFrames,
  DEFAULT_REASONING,
  planBedrock,
  TOOL_INPUT_DELTAS,
} from "../support/fakes/bedrock-format.js";
import { DEFAULT_TEXT } from "../support/fakes/index.js";
import { tokenize } from "../support/fakes/text.js";
import { streamOf } from "../support/provider-over-fake.js";
import { bedrockOverFake, CREDENTIALS, chat, MODEL, user } from "../unit/bedrock-wire-harness.js";

const TEXT = "Hello world, from a fake.";
const CACHE = { cacheReadTokens: 7, cacheWriteTokens: 11 };
const EVENT_STREAM = { "content-type": "application/vnd.amazon.eventstream" };
const signal = () => new AbortController().signal;
const WEATHER = {
  name: "get_weather",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

describe.each([
  { name: "HTTP/2", http1Only: false, protocol: "h2", httpVersion: "2.0" },
  { name: "HTTP/1.1", http1Only: true, protocol: "http/1.1", httpVersion: "1.1" },
])("Bedrock provider over $name", ({ http1Only, protocol, httpVersion }) => {
  const { fake, provider } = bedrockOverFake({ http1Only });

  it("generate: signed (the fake verified it), the model in the path, text, usage with the cache", async () => {
    fake().respondWith({ kind: "answer", text: TEXT, ...CACHE });
    const verified = fake().verifiedSignatures;
    const result = await provider().generate(chat({ system: "Be brief", maxTokens: 50 }), signal());
    expect(fake().verifiedSignatures).toBe(verified + 1);
    expect(result).toMatchObject({ text: TEXT, finishReason: "stop", toolCalls: [], reasoning: [] });
    // 2 prompt words + 2 system words, plus the cache's reads and writes.
    expect(result.usage).toEqual({ inputTokens: 4 + 7 + 11, outputTokens: 5, cachedInputTokens: 7 });
    expect(result.upstream).toMatchObject({ protocol, origin: fake().origin });
    const request = fake().requests.at(-1);
    expect(request?.path).toBe("/model/eu.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse");
    expect(fake().modelOf(request ?? ({} as never))).toBe(MODEL);
    expect(request).toMatchObject({ httpVersion, method: "POST" });
    expect(request?.headers).toMatchObject({ "x-amz-security-token": CREDENTIALS.sessionToken });
    expect(request?.body).toEqual({
      messages: [{ role: "user", content: [{ text: "Say hello" }] }],
      system: [{ text: "Be brief" }],
      inferenceConfig: { maxTokens: 50 },
    });
  });

  it("stream: the binary event stream, cut in 5-byte pieces, comes out as deltas and one finish", async () => {
    fake().respondWith({ kind: "answer", text: TEXT, chunkBytes: 5 });
    const { events, finish, error } = await streamOf(provider(), chat());
    expect(error).toBeUndefined();
    expect(fake().requests.at(-1)?.path).toMatch(/\/converse-stream$/);
    expect(events[0]).toMatchObject({ type: "start", upstream: { protocol } });
    expect(textOf(events)).toBe(TEXT);
    expect(finish).toMatchObject({ finishReason: "stop", usage: { inputTokens: 2, outputTokens: 5 } });
  });

  it("a second request rides the pooled connection", async () => {
    const connections = fake().connections;
    await provider().generate(chat(), signal());
    const second = await provider().generate(chat(), signal());
    expect(second.upstream.connectionReused).toBe(true);
    expect(fake().connections - connections).toBeLessThanOrEqual(1);
  });
});

describe("Bedrock provider: tools, reasoning, structured output", () => {
  const { fake, provider } = bedrockOverFake();

  it("a forced tool call and thinking come back whole, unary and streamed alike", async () => {
    const request = chat({
      tools: [WEATHER],
      toolChoice: { type: "tool", name: "get_weather" },
      reasoningBudgetTokens: 1024,
    });
    const unary = await provider().generate(request, signal());
    const streamed = await streamOf(provider(), request);
    for (const result of [unary, streamed.finish]) {
      expect(result).toMatchObject({
        finishReason: "tool_calls",
        toolCalls: [
          { id: expect.stringMatching(/^tooluse_/), name: "get_weather", arguments: '{"city":""}' },
        ],
        reasoning: [{ text: DEFAULT_REASONING, signature: expect.stringMatching(/^Eq/) }],
      });
    }
    expect(fake().requests.at(-1)?.body).toMatchObject({
      toolConfig: { toolChoice: { tool: { name: "get_weather" } } },
      additionalModelRequestFields: { thinking: { type: "enabled", budget_tokens: 1024 } },
    });
    const outputTokens =
      tokenize(DEFAULT_REASONING).length + tokenize(DEFAULT_TEXT).length + TOOL_INPUT_DELTAS;
    expect(streamed.finish?.usage?.outputTokens).toBe(outputTokens);
  });

  it("the tool's result goes back in the next user turn, and Bedrock answers", async () => {
    const first = await provider().generate(
      chat({ tools: [WEATHER], toolChoice: { type: "required" } }),
      signal(),
    );
    const [call] = first.toolCalls;
    if (!call) throw new Error("no tool call");
    const answer = await provider().generate(
      chat({
        tools: [WEATHER],
        messages: [
          user("Weather in Paris?"),
          { role: "assistant", content: [], toolCalls: [call], reasoning: [] },
          { role: "tool", toolCallId: call.id, content: [{ type: "text", text: "18C" }], isError: false },
        ],
      }),
      signal(),
    );
    expect(answer.finishReason).toBe("stop");
    expect(fake().requests.at(-1)?.body).toMatchObject({
      messages: [
        { role: "user" },
        {
          role: "assistant",
          content: [{ toolUse: { toolUseId: call.id, name: "get_weather", input: { city: "" } } }],
        },
        { role: "user", content: [{ toolResult: { toolUseId: call.id, content: [{ text: "18C" }] } }] },
      ],
    });
  });

  it("a JSON schema answer is JSON valid against it", async () => {
    const schema = { type: "object", properties: { n: { type: "integer" } }, required: ["n"] };
    const result = await provider().generate(
      chat({ responseFormat: { type: "json_schema", name: "count", schema } }),
      signal(),
    );
    expect(JSON.parse(result.text)).toEqual({ n: expect.any(Number) });
  });

  it("a guardrail's intervention finishes as content_filter", async () => {
    fake().respondWith({ kind: "answer", flavour: "guardrail" });
    expect((await provider().generate(chat(), signal())).finishReason).toBe("content_filter");
  });
});

/** Every HTTP failure Bedrock Runtime documents, and what it becomes. */
const HTTP_FAILURES = [
  { status: 400, type: "ValidationException", kind: "invalid_argument", retryable: false },
  { status: 403, type: "AccessDeniedException", kind: "permission_denied", retryable: false },
  { status: 404, type: "ResourceNotFoundException", kind: "not_found", retryable: false },
  { status: 408, type: "ModelTimeoutException", kind: "deadline_exceeded", retryable: true },
  { status: 424, type: "ModelErrorException", kind: "unavailable", retryable: true },
  { status: 429, type: "ThrottlingException", kind: "resource_exhausted", retryable: true },
  { status: 429, type: "ModelNotReadyException", kind: "unavailable", retryable: true },
  { status: 400, type: "ServiceQuotaExceededException", kind: "resource_exhausted", retryable: true },
  { status: 500, type: "InternalServerException", kind: "internal", retryable: true },
  { status: 503, type: "ServiceUnavailableException", kind: "unavailable", retryable: true },
];

/** Every exception event ConverseStream documents, arriving after three events. */
const STREAM_FAILURES = [
  { type: "throttlingException", kind: "resource_exhausted", status: 429 },
  { type: "validationException", kind: "invalid_argument", status: 400 },
  { type: "modelStreamErrorException", kind: "unavailable", status: 502 },
  { type: "internalServerException", kind: "internal", status: 500 },
  { type: "serviceUnavailableException", kind: "unavailable", status: 503 },
];

describe("Bedrock provider failures", () => {
  const { fake, provider } = bedrockOverFake();

  it.each(HTTP_FAILURES)("HTTP $status $type is $kind, retryable: $retryable", async (c) => {
    fake().respondWith({ kind: "error", status: c.status, type: c.type, message: `about ${c.type}` });
    const error = await provider()
      .generate(chat(), signal())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ kind: c.kind, retryable: c.retryable, status: c.status });
    expect((error as Error).message).toBe(`bedrock-wire ${c.type}: about ${c.type} (HTTP ${c.status})`);
  });

  it("a throttle's Retry-After is honoured", async () => {
    fake().respondWith({ kind: "error", status: 429, retryAfter: 3 });
    const error = await provider()
      .generate(chat(), signal())
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: "resource_exhausted", retryable: true, retryAfterMs: 3000 });
  });

  it.each(STREAM_FAILURES)("a $type event mid-stream is $kind, after the text before it", async (c) => {
    fake().respondWith({
      kind: "answer",
      text: TEXT,
      exceptionAfterEvents: 3,
      exceptionType: c.type,
      chunkBytes: 3,
    });
    const { events, finish, error } = await streamOf(provider(), chat());
    expect(textOf(events)).toBe("Hello world,");
    expect(finish).toBeUndefined();
    expect(error).toMatchObject({ kind: c.kind, reason: "UPSTREAM_STREAM_ERROR", status: c.status });
  });

  it("a connection cut mid-stream is an error, never a finish", async () => {
    fake().respondWith({ kind: "answer", text: TEXT, resetAfterEvents: 3, eventDelayMs: 2 });
    const { events, finish, error } = await streamOf(provider(), chat());
    expect(textOf(events)).toBe("Hello world,");
    expect(finish).toBeUndefined();
    expect(error).toMatchObject({ kind: "unavailable" });
  });

  it("a body that ends inside an event is UPSTREAM_STREAM_CUT", async () => {
    const frames = converseStreamFrames(planBedrock({ messages: [] }, { text: TEXT }));
    const half = frames[3]?.subarray(0, 20) ?? new Uint8Array();
    fake().respondWith({ kind: "raw", headers: EVENT_STREAM, chunks: [...frames.slice(0, 3), half] });
    const { events, finish, error } = await streamOf(provider(), chat());
    expect(textOf(events)).toBe("Hello world,");
    expect(finish).toBeUndefined();
    expect(error).toMatchObject({ kind: "unavailable", reason: "UPSTREAM_STREAM_CUT" });
  });

  it("an event whose checksum is wrong is UPSTREAM_MALFORMED", async () => {
    const frames = converseStreamFrames(planBedrock({ messages: [] }, { text: TEXT }));
    const bad = Buffer.from(frames[1] ?? []);
    bad[bad.length - 6] = (bad[bad.length - 6] ?? 0) ^ 0xff; // a payload byte: the message CRC fails
    fake().respondWith({
      kind: "raw",
      headers: EVENT_STREAM,
      chunks: [frames[0] ?? new Uint8Array(), bad, ...frames.slice(2)],
    });
    const { finish, error } = await streamOf(provider(), chat());
    expect(finish).toBeUndefined();
    expect(error).toMatchObject({ kind: "unavailable", reason: "UPSTREAM_MALFORMED" });
    expect((error as Error).message).toMatch(/malformed event stream: The message checksum/);
  });
});

describe("Bedrock provider with the wrong secret", () => {
  const wrong = { ...CREDENTIALS, secretAccessKey: "wJalrXUtnFEMI/K7MDENG/WRONGxRfiCYEXAMPLEKEY" };
  const { fake, provider } = bedrockOverFake({}, wrong);

  it("is refused by the fake's signature check: unauthenticated, not retried, no secret quoted", async () => {
    const error = await provider()
      .generate(chat(), signal())
      .catch((e: unknown) => e);
    expect(fake().refusedSignatures).toHaveLength(1);
    // The fake quotes the canonical request, session token and all, as AWS does.
    expect(fake().refusedSignatures[0]).toContain(CREDENTIALS.sessionToken);
    expect(error).toMatchObject({ kind: "unauthenticated", retryable: false, status: 403 });
    const message = (error as Error).message;
    expect(message).toMatch(/^bedrock-wire InvalidSignatureException: The request signature we calculated/);
    for (const secret of [wrong.secretAccessKey, CREDENTIALS.sessionToken ?? ""])
      expect(message).not.toContain(secret);
  });
});

describe("Bedrock provider cancellation over HTTP/2", () => {
  const { fake, provider } = bedrockOverFake();
  const LONG = Array.from({ length: 40 }, (_, i) => `word${i}`).join(" ");

  it("abandoning a stream resets its HTTP/2 stream at once; a sibling on the connection completes", async () => {
    fake().respondAlways((request) =>
      request.rawBody.includes("sibling")
        ? { kind: "answer", text: TEXT, eventDelayMs: 40 }
        : { kind: "answer", text: LONG, eventDelayMs: 25 },
    );
    const controller = new AbortController();
    const victim = provider().stream(chat(), controller.signal)[Symbol.asyncIterator]();
    for (let deltas = 0; deltas < 2; ) if ((await victim.next()).value?.type === "delta") deltas++;
    const sibling = streamOf(provider(), chat({ messages: [user("I am the sibling")] }));
    await once(fake(), "request");
    const aborted = once(fake(), "abort") as Promise<[number]>;
    const gaveUpAt = performance.now();
    controller.abort();
    const error = await victim.next().catch((e: unknown) => e);
    const [at] = await aborted;
    expect(at - gaveUpAt).toBeLessThan(100);
    expect(error).toMatchObject({ kind: "cancelled" });
    const done = await sibling;
    expect(textOf(done.events)).toBe(TEXT);
    expect(done.events[0]).toMatchObject({ upstream: { protocol: "h2", connectionReused: true } });
    fake().respondAlways(undefined);
  });
});

function textOf(events: ChatStreamEvent[]): string {
  return events.map((e) => (e.type === "delta" ? e.text : "")).join("");
}
