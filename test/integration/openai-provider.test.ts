import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  FinishReason,
  GenerateRequestSchema,
  ReasoningEffort,
  type StreamFinish,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import {
  DEFAULT_TOOL_CALLS,
  type FakeOpenAI,
  type OpenAIFlavour,
  type RecordedRequest,
  startFakeOpenAI,
  TOOL_CALL_FRAGMENTS,
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

const KEY = "sk-test-openai-0123456789abcdef";
const MODEL = "openai/gpt-4o-mini";
const PROMPT = "Say hello to me"; // 4 prompt tokens for the fake
const SYSTEM = "Answer very briefly"; // 3 more
const TEXT = "Hello world, from a fake."; // 5 completion tokens
const REFUSAL = "I can't help with that.";

interface FlavourCase {
  flavour: OpenAIFlavour;
  /** What the fake is scripted to answer. */
  says: string;
  /** The text the caller must get. */
  text: string;
  outputTokens: number;
  finishReason: FinishReason;
  nonTextContent: string[];
  /** The tool calls' names and arguments the caller must get. */
  toolCalls: [name: string, args: string][];
  refusal: string;
  idPrefix: string;
}

const plain = (flavour: OpenAIFlavour, idPrefix = "chatcmpl-"): FlavourCase => ({
  flavour,
  says: TEXT,
  text: TEXT,
  outputTokens: tokenize(TEXT).length,
  finishReason: FinishReason.STOP,
  nonTextContent: [],
  toolCalls: [],
  refusal: "",
  idPrefix,
});

const FLAVOURS: FlavourCase[] = [
  plain("openai-2024"),
  plain("openai-2026"),
  plain("azure"),
  plain("openrouter", "gen-"),
  {
    flavour: "tool-calls",
    says: TEXT,
    text: "", // only tool calls: no text at all
    outputTokens: 2 * TOOL_CALL_FRAGMENTS, // the fake's two default tool calls
    finishReason: FinishReason.TOOL_CALLS,
    nonTextContent: [], // the contract carries tool calls now
    toolCalls: DEFAULT_TOOL_CALLS.map((call) => [call.name, call.arguments]),
    refusal: "",
    idPrefix: "chatcmpl-",
  },
  {
    flavour: "refusal",
    says: REFUSAL,
    text: "", // a refusal has its own field, and the text stays empty
    outputTokens: tokenize(REFUSAL).length,
    finishReason: FinishReason.STOP,
    nonTextContent: [],
    toolCalls: [],
    refusal: REFUSAL,
    idPrefix: "chatcmpl-",
  },
];

describe.each(UPSTREAM_PROTOCOLS)("OpenAI provider over $name", ({ http1Only, protocol, httpVersion }) => {
  let fake: FakeOpenAI;
  let gw: ProviderGateway;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ apiKey: KEY, http1Only });
    gw = await startProviderGateway({
      providers: { openai: { type: "openai", upstream: fake, apiKey: KEY } },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it.each(FLAVOURS)("Generate reads the $flavour flavour exactly", async (c) => {
    fake.respondWith({ kind: "answer", flavour: c.flavour, text: c.says });
    const res = await gw.client.generate(generateRequest({ model: MODEL, content: PROMPT }));
    expect(res.text).toBe(c.text);
    expect(res.finishReason).toBe(c.finishReason);
    expect(res.usage).toMatchObject({ inputTokens: 4, outputTokens: c.outputTokens });
    expect(res.usage?.totalTokens).toBe(4 + c.outputTokens);
    expect(res.nonTextContent).toEqual(c.nonTextContent);
    expect(res.toolCalls.map((call) => [call.name, call.arguments])).toEqual(c.toolCalls);
    expect(res.refusal).toBe(c.refusal);
    expect(res.id.startsWith(c.idPrefix)).toBe(true);
    expect(res.model).toBe(MODEL);
    expect(res.upstream).toMatchObject({
      provider: "openai",
      model: "gpt-4o-mini",
      origin: fake.origin,
      protocol,
    });
    expect(lastRequest(fake)).toMatchObject({ path: "/v1/chat/completions", httpVersion });
    expect(lastRequest(fake).body).not.toHaveProperty("stream");
  });

  it.each(FLAVOURS)("GenerateStream reads the $flavour flavour exactly", async (c) => {
    fake.respondWith({ kind: "answer", flavour: c.flavour, text: c.says });
    const stream = await collectStream(
      gw.client.generateStream(streamRequest({ model: MODEL, content: PROMPT })),
    );
    expect(stream.order[0]).toBe("start");
    expect(stream.order.at(-1)).toBe("finish");
    expect(stream.start?.model).toBe(MODEL);
    expect(stream.start?.id.startsWith(c.idPrefix)).toBe(true);
    expect(stream.text).toBe(c.text);
    expect(stream.finish?.finishReason).toBe(c.finishReason);
    expect(stream.finish?.usage).toMatchObject({
      inputTokens: 4,
      outputTokens: c.outputTokens,
      totalTokens: 4 + c.outputTokens,
    });
    expect(stream.finish?.nonTextContent).toEqual(c.nonTextContent);
    expect(stream.finish?.toolCalls.map((call) => [call.name, call.arguments])).toEqual(c.toolCalls);
    expect(stream.finish?.refusal).toBe(c.refusal);
    expect(stream.finish?.upstream).toMatchObject({ provider: "openai", model: "gpt-4o-mini", protocol });
    expect(lastRequest(fake)).toMatchObject({ path: "/v1/chat/completions", httpVersion });
    expect(lastRequest(fake).body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it("streams text cut into 7-byte pieces through multi-byte characters", async () => {
    const text = "Grüße aus Köln 👋 — fin.";
    fake.respondWith({ kind: "stream", flavour: "openai-2026", text, chunkBytes: 7 });
    const stream = await collectStream(gw.client.generateStream(streamRequest({ model: MODEL })));
    expect(stream.text).toBe(text);
    expect(stream.finish?.usage?.outputTokens).toBe(tokenize(text).length);
  });
});

/** A chat completion (or its chunks) finishing with `reason`, which the fake has no flavour for. */
function finishingWith(reason: string) {
  return (request: RecordedRequest) => {
    const base = { id: "chatcmpl-raw", created: 1, model: "gpt-4o-mini" };
    const usage = { prompt_tokens: 4, completion_tokens: 1, total_tokens: 5 };
    if ((request.body as { stream?: boolean }).stream) {
      const chunk = (choice: object, extra: object = {}) =>
        `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [choice], ...extra })}\n\n`;
      return {
        kind: "raw" as const,
        headers: { "content-type": "text/event-stream" },
        chunks: [
          chunk({ index: 0, delta: { role: "assistant", content: "Hi" }, finish_reason: null }),
          chunk({ index: 0, delta: {}, finish_reason: reason }),
          `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [], usage })}\n\n`,
          "data: [DONE]\n\n",
        ],
      };
    }
    const message = { role: "assistant", content: "Hi", refusal: null };
    const body = {
      ...base,
      object: "chat.completion",
      choices: [{ index: 0, message, finish_reason: reason }],
      usage,
    };
    return {
      kind: "raw" as const,
      headers: { "content-type": "application/json" },
      chunks: [JSON.stringify(body)],
    };
  };
}

describe("OpenAI provider: what is sent and how it is read", () => {
  let fake: FakeOpenAI;
  let gw: ProviderGateway;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ apiKey: KEY });
    gw = await startProviderGateway({
      providers: { openai: { type: "openai", upstream: fake, apiKey: KEY } },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  const FINISHES = [
    { upstream: "stop", expected: FinishReason.STOP, fields: {}, script: { kind: "answer" as const } },
    {
      upstream: "length",
      expected: FinishReason.LENGTH,
      fields: { maxTokens: 2 },
      script: { kind: "answer" as const },
    },
    {
      upstream: "tool_calls",
      expected: FinishReason.TOOL_CALLS,
      fields: {},
      script: { kind: "answer" as const, flavour: "tool-calls" as const },
    },
    {
      upstream: "content_filter",
      expected: FinishReason.CONTENT_FILTER,
      fields: {},
      script: finishingWith("content_filter"),
    },
  ];

  it.each(FINISHES)(
    "maps finish_reason $upstream, unary and streaming",
    async ({ expected, fields, script }) => {
      fake.respondWith(script, script);
      const unary = await gw.client.generate(generateRequest({ model: MODEL, ...fields }));
      const stream = await collectStream(
        gw.client.generateStream(streamRequest({ model: MODEL, ...fields })),
      );
      expect(unary.finishReason).toBe(expected);
      expect(stream.finish?.finishReason).toBe(expected);
    },
  );

  it("cuts at max_tokens: the text is the first tokens, finish LENGTH", async () => {
    fake.respondWith({ kind: "answer", text: TEXT });
    const res = await gw.client.generate(generateRequest({ model: MODEL, maxTokens: 2 }));
    expect(res.text).toBe("Hello world,");
    expect(res.usage).toMatchObject({ outputTokens: 2 });
  });

  it("sends the model, the system prompt first, max_tokens, sampling and stop (unary)", async () => {
    await gw.client.generate(
      generateRequest({
        model: MODEL,
        content: PROMPT,
        system: SYSTEM,
        maxTokens: 50,
        temperature: 0.5,
        topP: 0.25,
        stop: ["\n\n", "END"],
      }),
    );
    expect(lastRequest(fake).body).toEqual({
      model: "gpt-4o-mini",
      messages: [
        { role: "system", content: SYSTEM },
        { role: "user", content: PROMPT },
      ],
      max_tokens: 50,
      temperature: 0.5,
      top_p: 0.25,
      stop: ["\n\n", "END"],
    });
  });

  it("asks for a stream with usage included, and counts the system prompt as input", async () => {
    const stream = await collectStream(
      gw.client.generateStream(
        streamRequest({ model: MODEL, content: PROMPT, system: SYSTEM, maxTokens: 50 }),
      ),
    );
    expect(lastRequest(fake).body).toEqual({
      model: "gpt-4o-mini",
      messages: [
        { role: "system", content: SYSTEM },
        { role: "user", content: PROMPT },
      ],
      max_tokens: 50,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(stream.finish?.usage?.inputTokens).toBe(7);
  });

  it("leaves max_tokens, sampling and stop out when the caller gives none", async () => {
    await gw.client.generate(generateRequest({ model: MODEL }));
    const body = lastRequest(fake).body as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(["messages", "model"]);
  });

  it("sends the key as Authorization: Bearer, and no organization or project unless configured", async () => {
    await gw.client.generate(generateRequest({ model: MODEL }));
    const { headers } = lastRequest(fake);
    expect(headers.authorization).toBe(`Bearer ${KEY}`);
    expect(headers["content-type"]).toBe("application/json");
    expect(headers).not.toHaveProperty("openai-organization");
    expect(headers).not.toHaveProperty("openai-project");
  });

  it("sends organization, project and extra headers when configured", async () => {
    const configured = await startProviderGateway({
      providers: {
        openai: {
          type: "openai",
          upstream: fake,
          apiKey: KEY,
          settings: {
            organization: "org-weaver",
            project: "proj_weaver",
            headers: { "x-gateway-tenant": "team-a", "http-referer": "https://weaver.example" },
          },
        },
      },
    });
    try {
      await configured.client.generate(generateRequest({ model: MODEL }));
    } finally {
      await configured.close();
    }
    expect(lastRequest(fake).headers).toMatchObject({
      authorization: `Bearer ${KEY}`,
      "openai-organization": "org-weaver",
      "openai-project": "proj_weaver",
      "x-gateway-tenant": "team-a",
      "http-referer": "https://weaver.example",
    });
  });

  it("trusts the fake's private CA through ca_file, and only through it", async () => {
    const untrusting = await startProviderGateway({
      providers: { openai: { type: "openai", upstream: { origin: fake.origin }, apiKey: KEY } },
    });
    const requestsBefore = fake.requestCount;
    try {
      const error = await errorOf(untrusting.client.generate(generateRequest({ model: MODEL })));
      expect(error.code).toBe(Code.Unavailable);
      expect(error.metadata.get("weaver-error-reason")).toBe("UPSTREAM_TLS");
    } finally {
      await untrusting.close();
    }
    expect(fake.requestCount).toBe(requestsBefore);
    // The gateway with ca_file reaches the very same fake.
    const res = await gw.client.generate(generateRequest({ model: MODEL }));
    expect(res.text).toBe("Hello from the fake upstream.");
  });

  it("keeps the key out of every log line and every error message, even when the upstream echoes it", async () => {
    fake.respondWith({ kind: "error", status: 401, message: `Incorrect API key provided: ${KEY}.` });
    const error = await errorOf(gw.client.generate(generateRequest({ model: MODEL })));
    expect(error.code).toBe(Code.Unauthenticated);
    expect(error.message).toContain("Incorrect API key provided");
    expect(error.message).not.toContain(KEY);
    expect(gw.logLines.length).toBeGreaterThan(0);
    expect(gw.logLines.filter((line) => line.includes(KEY))).toEqual([]);
  });

  // What agent apps send and get back.
  // Key order as written: the model writes arguments in the schema's order.
  const SCHEMA =
    '{"type":"object","properties":{"zone":{"type":"string"},"city":{"type":"string"}},"required":["zone","city"]}';
  const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47]);

  it("sends every field in Chat Completions' shape, exactly", async () => {
    fake.respondWith({ kind: "answer", flavour: "tool-calls" });
    const res = await gw.client.generate(
      create(GenerateRequestSchema, {
        model: MODEL,
        system: SYSTEM,
        messages: [
          {
            role: "user",
            parts: [
              { part: { case: "text", value: "What time is it here?" } },
              {
                part: {
                  case: "image",
                  value: { source: { case: "data", value: PNG }, mediaType: "image/png" },
                },
              },
            ],
          },
          {
            role: "assistant",
            toolCalls: [{ id: "call_1", name: "get_time", arguments: '{"zone":"CET","city":"Paris"}' }],
          },
          { role: "tool", toolCallId: "call_1", content: "clock broken", isError: true },
        ],
        tools: [{ name: "get_time", description: "The time", parametersJson: SCHEMA, strict: true }],
        toolChoice: { choice: { case: "toolName", value: "get_time" } },
        parallelToolCalls: false,
        responseFormat: { format: { case: "jsonObject", value: true } },
        reasoningEffort: ReasoningEffort.HIGH,
        seed: 7n,
        user: "user-42",
      }),
    );
    expect(lastRequest(fake).rawBody).toBe(
      JSON.stringify({
        model: "gpt-4o-mini",
        messages: [
          { role: "system", content: SYSTEM },
          {
            role: "user",
            content: [
              { type: "text", text: "What time is it here?" },
              { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw==" } },
            ],
          },
          {
            role: "assistant",
            content: null,
            tool_calls: [
              {
                id: "call_1",
                type: "function",
                function: { name: "get_time", arguments: '{"zone":"CET","city":"Paris"}' },
              },
            ],
          },
          { role: "tool", tool_call_id: "call_1", content: "clock broken" },
        ],
        tools: [
          {
            type: "function",
            function: {
              name: "get_time",
              description: "The time",
              parameters: JSON.parse(SCHEMA),
              strict: true,
            },
          },
        ],
        tool_choice: { type: "function", function: { name: "get_time" } },
        parallel_tool_calls: false,
        response_format: { type: "json_object" },
        reasoning_effort: "high",
        seed: 7,
        user: "user-42",
      }),
    );
    expect(res.finishReason).toBe(FinishReason.TOOL_CALLS);
    expect(res.toolCalls).toMatchObject([{ name: "get_time", arguments: '{"zone":"","city":""}' }]);
  });

  it("refuses a reasoning budget before sending anything, saying what OpenAI takes instead", async () => {
    const before = fake.requestCount;
    const error = await errorOf(
      gw.client.generate(
        create(GenerateRequestSchema, { ...generateRequest({ model: MODEL }), reasoningBudgetTokens: 2048 }),
      ),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.metadata.get("weaver-error-reason")).toBe("UNSUPPORTED_FIELD");
    expect(error.rawMessage).toContain("reasoning_budget_tokens is not supported by provider openai");
    expect(error.rawMessage).toContain("reasoning_effort");
    expect(fake.requestCount).toBe(before);
  });

  it("streams a compatible server's reasoning, and reports cached and reasoning tokens", async () => {
    fake.respondWith({ kind: "stream", text: TEXT, reasoning: "Greet them back.", cachedTokens: 3 });
    const reasoning: string[] = [];
    let finish: StreamFinish | undefined;
    for await (const { event } of gw.client.generateStream(
      streamRequest({ model: MODEL, content: PROMPT }),
    )) {
      if (event.case === "reasoning") reasoning.push(event.value.text);
      if (event.case === "finish") finish = event.value;
    }
    expect(reasoning.join("")).toBe("Greet them back.");
    expect(finish?.reasoning).toMatchObject([{ text: "Greet them back.", signature: "" }]);
    expect(finish?.usage).toMatchObject({
      inputTokens: 4,
      outputTokens: 5 + 3,
      cachedInputTokens: 3,
      reasoningTokens: 3,
    });
  });
});
