import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FinishReason } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import {
  type AnthropicFlavour,
  DEFAULT_THINKING,
  DEFAULT_TOOL_USE,
  type FakeAnthropic,
  startFakeAnthropic,
  TOOL_INPUT_FRAGMENTS,
  tokenize,
} from "../support/fakes/index.js";
import {
  collectStream,
  errorOf,
  generateRequest,
  lastRequest,
  type ProviderGateway,
  startProviderGateway,
  streamRequest,
  UPSTREAM_PROTOCOLS,
} from "../support/provider-gateway.js";

const KEY = "sk-ant-test-0123456789abcdef";
const MODEL = "anthropic/claude-x";
const PROMPT = "Say hello to me"; // 4 input tokens for the fake
const SYSTEM = "Answer very briefly"; // 3 more
const TEXT = "Hello world, from a fake."; // 5 output tokens
const TEXT_TOKENS = tokenize(TEXT).length;
/** Cached prompt tokens the fake reports apart from input_tokens; the gateway adds them in. */
const CACHE = { cacheReadTokens: 7, cacheCreationTokens: 11 };
const INPUT_WITH_CACHE = 4 + 7 + 11;

interface FlavourCase {
  flavour: AnthropicFlavour;
  outputTokens: number;
  reasoningTokens: number;
  finishReason: FinishReason;
  toolCalls: object[];
  reasoning: object[];
}

const plain = (flavour: AnthropicFlavour): FlavourCase => ({
  flavour,
  outputTokens: TEXT_TOKENS,
  reasoningTokens: 0,
  finishReason: FinishReason.STOP,
  toolCalls: [],
  reasoning: [],
});

/** Every flavour answers TEXT as its text block; thinking and tool use come beside it, carried whole. */
const FLAVOURS: FlavourCase[] = [
  plain("anthropic"),
  plain("anthropic-padded"),
  {
    ...plain("thinking"),
    outputTokens: tokenize(DEFAULT_THINKING).length + TEXT_TOKENS,
    reasoningTokens: tokenize(DEFAULT_THINKING).length,
    reasoning: [
      { text: DEFAULT_THINKING, signature: expect.stringMatching(/^Eq.{86}==$/), redactedData: "" },
    ],
  },
  {
    ...plain("tool-use"),
    outputTokens: TEXT_TOKENS + TOOL_INPUT_FRAGMENTS,
    finishReason: FinishReason.TOOL_CALLS,
    toolCalls: [
      {
        id: expect.stringMatching(/^toolu_01/),
        name: DEFAULT_TOOL_USE.name,
        arguments: JSON.stringify(DEFAULT_TOOL_USE.input),
      },
    ],
  },
  // Repeats the whole usage in message_delta: counted once, not twice.
  plain("anthropic-2026"),
  plain("unknown-events"),
];

describe.each(UPSTREAM_PROTOCOLS)("Anthropic provider over $name", ({ http1Only, protocol, httpVersion }) => {
  let fake: FakeAnthropic;
  let gw: ProviderGateway;

  beforeAll(async () => {
    fake = await startFakeAnthropic({ apiKey: KEY, http1Only });
    gw = await startProviderGateway({
      providers: { anthropic: { type: "anthropic", upstream: fake, apiKey: KEY } },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it.each(FLAVOURS)(
    "Generate reads the $flavour flavour exactly, cached input tokens included",
    async (c) => {
      fake.respondWith({ kind: "answer", flavour: c.flavour, text: TEXT, ...CACHE });
      const res = await gw.client.generate(generateRequest({ model: MODEL, content: PROMPT }));
      expect(res.text).toBe(TEXT);
      expect(res.finishReason).toBe(c.finishReason);
      expect(res.usage).toMatchObject({
        inputTokens: INPUT_WITH_CACHE,
        outputTokens: c.outputTokens,
        totalTokens: INPUT_WITH_CACHE + c.outputTokens,
        cachedInputTokens: CACHE.cacheReadTokens,
        reasoningTokens: c.reasoningTokens,
      });
      expect(res.nonTextContent).toEqual([]);
      expect(res.toolCalls).toMatchObject(c.toolCalls);
      expect(res.toolCalls).toHaveLength(c.toolCalls.length);
      expect(res.reasoning).toMatchObject(c.reasoning);
      expect(res.reasoning).toHaveLength(c.reasoning.length);
      expect(res.id.startsWith("msg_01")).toBe(true);
      expect(res.model).toBe(MODEL);
      expect(res.upstream).toMatchObject({
        provider: "anthropic",
        model: "claude-x",
        origin: fake.origin,
        protocol,
      });
      expect(lastRequest(fake)).toMatchObject({ path: "/v1/messages", httpVersion });
      expect(lastRequest(fake).body).not.toHaveProperty("stream");
    },
  );

  it.each(FLAVOURS)(
    "GenerateStream reads the $flavour flavour exactly, cached input tokens included",
    async (c) => {
      fake.respondWith({ kind: "answer", flavour: c.flavour, text: TEXT, ...CACHE });
      const stream = await collectStream(
        gw.client.generateStream(streamRequest({ model: MODEL, content: PROMPT })),
      );
      expect(stream.order[0]).toBe("start");
      expect(stream.order.at(-1)).toBe("finish");
      expect(stream.start?.model).toBe(MODEL);
      expect(stream.start?.id.startsWith("msg_01")).toBe(true);
      expect(stream.text).toBe(TEXT);
      expect(stream.finish?.finishReason).toBe(c.finishReason);
      expect(stream.finish?.usage).toMatchObject({
        inputTokens: INPUT_WITH_CACHE,
        outputTokens: c.outputTokens,
        totalTokens: INPUT_WITH_CACHE + c.outputTokens,
        cachedInputTokens: CACHE.cacheReadTokens,
        reasoningTokens: c.reasoningTokens,
      });
      expect(stream.finish?.nonTextContent).toEqual([]);
      expect(stream.finish?.toolCalls).toMatchObject(c.toolCalls);
      expect(stream.finish?.toolCalls).toHaveLength(c.toolCalls.length);
      expect(stream.finish?.reasoning).toMatchObject(c.reasoning);
      expect(stream.finish?.reasoning).toHaveLength(c.reasoning.length);
      expect(stream.finish?.upstream).toMatchObject({ provider: "anthropic", model: "claude-x", protocol });
      expect(lastRequest(fake)).toMatchObject({ path: "/v1/messages", httpVersion });
      expect(lastRequest(fake).body).toMatchObject({ stream: true });
    },
  );

  it("streams text cut into 7-byte pieces through multi-byte characters", async () => {
    const text = "Grüße aus Köln 👋 — fin.";
    fake.respondWith({ kind: "stream", flavour: "anthropic", text, chunkBytes: 7 });
    const stream = await collectStream(gw.client.generateStream(streamRequest({ model: MODEL })));
    expect(stream.text).toBe(text);
    expect(stream.finish?.usage?.outputTokens).toBe(tokenize(text).length);
  });
});

describe("Anthropic provider: what is sent and how it is read", () => {
  let fake: FakeAnthropic;
  let gw: ProviderGateway;

  beforeAll(async () => {
    fake = await startFakeAnthropic({ apiKey: KEY, versions: ["2023-06-01"] });
    gw = await startProviderGateway({
      providers: { anthropic: { type: "anthropic", upstream: fake, apiKey: KEY } },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  const FINISHES = [
    { stopReason: "end_turn", expected: FinishReason.STOP, text: TEXT, fields: {}, flavour: "anthropic" },
    // The fake stops where the stop sequence would start.
    {
      stopReason: "stop_sequence",
      expected: FinishReason.STOP,
      text: "Hello world, from a ",
      fields: { stop: ["fake"] },
      flavour: "anthropic",
    },
    {
      stopReason: "max_tokens",
      expected: FinishReason.LENGTH,
      text: "Hello world,",
      fields: { maxTokens: 2 },
      flavour: "anthropic",
    },
    {
      stopReason: "tool_use",
      expected: FinishReason.TOOL_CALLS,
      text: TEXT,
      fields: {},
      flavour: "tool-use",
    },
  ] as const;

  it.each(FINISHES)(
    "maps stop_reason $stopReason, unary and streaming",
    async ({ expected, text, fields, flavour }) => {
      const script = { kind: "answer", flavour, text: TEXT } as const;
      fake.respondWith(script, script);
      const unary = await gw.client.generate(generateRequest({ model: MODEL, ...fields }));
      const stream = await collectStream(
        gw.client.generateStream(streamRequest({ model: MODEL, ...fields })),
      );
      expect([unary.finishReason, unary.text]).toEqual([expected, text]);
      expect([stream.finish?.finishReason, stream.text]).toEqual([expected, text]);
    },
  );

  it("counts the prompt alone as input when nothing was cached", async () => {
    fake.respondWith({ kind: "answer", text: TEXT }, { kind: "answer", text: TEXT });
    const unary = await gw.client.generate(generateRequest({ model: MODEL, content: PROMPT }));
    const stream = await collectStream(
      gw.client.generateStream(streamRequest({ model: MODEL, content: PROMPT })),
    );
    expect(unary.usage).toMatchObject({
      inputTokens: 4,
      outputTokens: TEXT_TOKENS,
      totalTokens: 4 + TEXT_TOKENS,
    });
    expect(stream.finish?.usage).toMatchObject({ inputTokens: 4, outputTokens: TEXT_TOKENS });
  });

  it("sends the system prompt at the top level, max_tokens 4096 by default, and stop_sequences", async () => {
    await gw.client.generate(
      generateRequest({
        model: MODEL,
        content: PROMPT,
        system: SYSTEM,
        stop: ["\n\nHuman:"],
        temperature: 0.5,
        topP: 0.25,
      }),
    );
    expect(lastRequest(fake).body).toEqual({
      model: "claude-x",
      max_tokens: 4096,
      messages: [{ role: "user", content: PROMPT }],
      system: SYSTEM,
      temperature: 0.5,
      top_p: 0.25,
      stop_sequences: ["\n\nHuman:"],
    });
  });

  it("streams with the caller's max_tokens, and counts the system prompt as input", async () => {
    fake.respondWith({ kind: "answer", text: TEXT });
    const stream = await collectStream(
      gw.client.generateStream(
        streamRequest({ model: MODEL, content: PROMPT, system: SYSTEM, maxTokens: 64 }),
      ),
    );
    expect(lastRequest(fake).body).toEqual({
      model: "claude-x",
      max_tokens: 64,
      messages: [{ role: "user", content: PROMPT }],
      system: SYSTEM,
      stream: true,
    });
    expect(stream.finish?.usage?.inputTokens).toBe(7);
  });

  it("sends x-api-key and anthropic-version 2023-06-01 by default, and no Authorization", async () => {
    await gw.client.generate(generateRequest({ model: MODEL }));
    const { headers } = lastRequest(fake);
    expect(headers["x-api-key"]).toBe(KEY);
    expect(headers["anthropic-version"]).toBe("2023-06-01");
    expect(headers["content-type"]).toBe("application/json");
    expect(headers).not.toHaveProperty("authorization");
  });

  it("with auth: bearer and version 2026-10-21, sends those instead, and its own default_max_tokens", async () => {
    const bearer = await startProviderGateway({
      providers: {
        anthropic: {
          type: "anthropic",
          upstream: fake,
          apiKey: KEY,
          settings: {
            auth: "bearer",
            version: "2026-10-21",
            default_max_tokens: 512,
            headers: { "x-tenant": "a" },
          },
        },
      },
    });
    let text: string;
    try {
      text = (await bearer.client.generate(generateRequest({ model: MODEL }))).text;
    } finally {
      await bearer.close();
    }
    expect(text).toBe("Hello from the fake upstream.");
    const { headers, body } = lastRequest(fake);
    expect(headers).toMatchObject({
      authorization: `Bearer ${KEY}`,
      "anthropic-version": "2026-10-21",
      "x-tenant": "a",
    });
    expect(headers).not.toHaveProperty("x-api-key");
    expect(body).toMatchObject({ max_tokens: 512 });
  });

  it("keeps the key out of every log line and every error message, even when the upstream echoes it", async () => {
    fake.respondWith({ kind: "error", status: 401, message: `invalid x-api-key: ${KEY}` });
    const error = await errorOf(gw.client.generate(generateRequest({ model: MODEL })));
    expect(error.message).toContain("invalid x-api-key");
    expect(error.message).not.toContain(KEY);
    expect(gw.logLines.length).toBeGreaterThan(0);
    expect(gw.logLines.filter((line) => line.includes(KEY))).toEqual([]);
  });
});
