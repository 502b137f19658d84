import { once } from "node:events";
import { Agent as HttpsAgent } from "node:https";
import Anthropic, { APIError as AnthropicAPIError } from "@anthropic-ai/sdk";
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  type ConverseStreamOutput,
} from "@aws-sdk/client-bedrock-runtime";
import { ApiError as GeminiApiError, GoogleGenAI } from "@google/genai";
import { NodeHttp2Handler, NodeHttpHandler } from "@smithy/node-http-handler";
import OpenAI, { type APIError as OpenAIAPIError } from "openai";
import { type Agent, fetch as undiciFetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_REASONING } from "../support/fakes/bedrock-format.js";
import { type FakeBedrock, startFakeBedrock } from "../support/fakes/fake-bedrock.js";
import { type FakeGemini, startFakeGemini } from "../support/fakes/fake-gemini.js";
import { DEFAULT_FUNCTION_CALL, DEFAULT_GEMINI_THOUGHT } from "../support/fakes/gemini-format.js";
import {
  DEFAULT_TEXT,
  DEFAULT_THINKING,
  DEFAULT_TOOL_CALLS,
  DEFAULT_TOOL_USE,
  type FakeAnthropic,
  type FakeOpenAI,
  type OpenAIFlavour,
  startFakeAnthropic,
  startFakeOpenAI,
  TOOL_INPUT_FRAGMENTS,
  tokenize,
  trustingAgent,
  trustingFetch,
} from "../support/fakes/index.js";

const KEY = "sk-test-0123456789abcdef";
const PROMPT = "Say hello to me"; // 4 prompt tokens for the fakes
const TEXT = "Hello world, from a fake."; // 5 completion tokens
const fetch = undiciFetch as unknown as typeof globalThis.fetch;
const agents: Agent[] = [];

function agentFor(fake: { ca: string }, http2: boolean): Agent {
  const agent = trustingAgent(fake, { http2 });
  agents.push(agent);
  return agent;
}

afterAll(async () => {
  await Promise.all(agents.map((agent) => agent.close()));
});

describe("fake OpenAI, through the official openai SDK", () => {
  let fake: FakeOpenAI;
  let client: OpenAI;
  let h1Client: OpenAI;
  // undici's fetch with the dispatcher bound (fetchOptions.dispatcher is typed for Node's undici).
  const make = (http2: boolean, apiKey = KEY) =>
    new OpenAI({
      apiKey,
      baseURL: `${fake.origin}/v1`,
      maxRetries: 0,
      fetch: trustingFetch(agentFor(fake, http2)),
    });
  const params = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: PROMPT }] };
  const streamParams = { ...params, stream: true as const, stream_options: { include_usage: true } };

  beforeAll(async () => {
    fake = await startFakeOpenAI({ apiKey: KEY });
    client = make(true);
    h1Client = make(false);
  });
  afterAll(() => fake.close());

  it("answers a unary call over HTTP/2 with the exact text and usage", async () => {
    fake.respondWith({ kind: "answer", text: TEXT });
    const completion = await client.chat.completions.create({ ...params, max_completion_tokens: 50 });
    expect(completion.object).toBe("chat.completion");
    expect(completion.choices[0]?.message).toMatchObject({ role: "assistant", content: TEXT, refusal: null });
    expect(completion.choices[0]?.finish_reason).toBe("stop");
    expect(completion.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 5, total_tokens: 9 });
    const request = fake.requests.at(-1);
    expect(request).toMatchObject({ method: "POST", path: "/v1/chat/completions", httpVersion: "2.0" });
    expect(request?.headers).toMatchObject({
      authorization: `Bearer ${KEY}`,
      "content-type": "application/json",
      accept: "application/json",
      "x-stainless-retry-count": "0",
      "x-stainless-lang": "js",
    });
    expect(request?.body).toMatchObject({ model: "gpt-4o-mini", max_completion_tokens: 50 });
  });

  const flavours: OpenAIFlavour[] = ["openai-2024", "openai-2026", "azure", "openrouter"];
  it.each(flavours)("streams the %s flavour: chunks and the stream helper agree", async (flavour) => {
    fake.respondWith({ kind: "stream", flavour, text: TEXT }, { kind: "stream", flavour, text: TEXT });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of await client.chat.completions.create(streamParams)) {
      text += chunk.choices[0]?.delta?.content ?? "";
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(TEXT);
    expect(usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 5, total_tokens: 9 });
    const final = await client.chat.completions.stream(streamParams).finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe(TEXT);
    expect(final.choices[0]?.finish_reason).toBe("stop");
    expect(final.usage?.completion_tokens).toBe(5);
  });

  it("streams a refusal, and parallel tool calls interleaved by index", async () => {
    fake.respondWith({ kind: "stream", flavour: "refusal", text: "I can't help with that." });
    const refused = await client.chat.completions.stream(streamParams).finalChatCompletion();
    expect(refused.choices[0]?.message).toMatchObject({ content: null, refusal: "I can't help with that." });
    fake.respondWith({ kind: "stream", flavour: "tool-calls" });
    const called = await client.chat.completions.stream(streamParams).finalChatCompletion();
    expect(called.choices[0]?.finish_reason).toBe("tool_calls");
    const calls = called.choices[0]?.message.tool_calls ?? [];
    expect(calls.map((c) => c.type === "function" && [c.function.name, c.function.arguments])).toEqual(
      DEFAULT_TOOL_CALLS.map((c) => [c.name, c.arguments]),
    );
    expect(calls.every((c) => c.id.startsWith("call_"))).toBe(true);
    expect(called.usage?.completion_tokens).toBe(6);
  });

  it("streams over HTTP/1.1, cut into 5-byte pieces through multi-byte characters", async () => {
    const text = "Grüße aus Köln 👋 — fin.";
    fake.respondWith({ kind: "stream", flavour: "openai-2026", text, chunkBytes: 5 });
    const final = await h1Client.chat.completions.stream(streamParams).finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe(text);
    expect(final.usage?.completion_tokens).toBe(tokenize(text).length);
    expect(fake.requests.at(-1)?.httpVersion).toBe("1.1");
  });

  it("sends raw SSE verbatim, and truncates at max_tokens with finish_reason length", async () => {
    const chunk =
      '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,';
    fake.respondWith({
      kind: "raw",
      headers: { "content-type": "text/event-stream" },
      chunks: [
        `data: ${chunk}`,
        '"delta":{"content":"Hi"},"finish_reason":"stop"}]}\r',
        "\n\r\ndata: [DONE]\n\n",
      ],
    });
    let text = "";
    for await (const c of await client.chat.completions.create(streamParams))
      text += c.choices[0]?.delta.content;
    expect(text).toBe("Hi");
    fake.respondWith({ kind: "json", text: TEXT });
    const cut = await client.chat.completions.create({ ...params, max_tokens: 2 });
    expect(cut.choices[0]).toMatchObject({ finish_reason: "length", message: { content: "Hello world," } });
  });

  it("surfaces HTTP errors as the SDK's typed errors", async () => {
    fake.respondWith({ kind: "error", status: 429, retryAfter: 2, retryAfterMs: 1500 });
    const limited = await client.chat.completions.create(params).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(limited).toMatchObject({ status: 429, code: "rate_limit_exceeded", type: "requests" });
    expect((limited as OpenAIAPIError).headers?.get("retry-after-ms")).toBe("1500");
    fake.respondWith({ kind: "error", status: 500 }, { kind: "error", status: 400, message: "bad" });
    await expect(client.chat.completions.create(params)).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    await expect(client.chat.completions.create(params)).rejects.toMatchObject({
      status: 400,
      message: "400 bad",
    });
    const denied = await make(true, "sk-wrong-key-000000")
      .chat.completions.create(params)
      .catch((e) => e);
    expect(denied).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(denied).toMatchObject({ status: 401, code: "invalid_api_key", type: "invalid_request_error" });
    expect(denied.message).toContain("Incorrect API key provided: sk-wro*********0000");
  });

  it("surfaces in-band stream errors (OpenRouter's error chunk) as APIError", async () => {
    fake.respondWith({
      kind: "stream",
      flavour: "openrouter",
      errorAfterEvents: 4,
      errorMessage: "Provider died",
    });
    const texts: string[] = [];
    const consume = async () => {
      for await (const c of await client.chat.completions.create(streamParams))
        texts.push(c.choices[0]?.delta.content ?? "");
    };
    await expect(consume()).rejects.toThrow("Provider died");
    expect(texts.join("")).toBe("Hello");
  });

  it("breaks the connection mid-stream and before the response, which are not aborts", async () => {
    const abortsBefore = fake.aborts;
    fake.respondWith({ kind: "stream", text: TEXT, resetAfterEvents: 2 });
    const consume = async () => {
      for await (const _ of await client.chat.completions.create(streamParams));
    };
    await expect(consume()).rejects.toThrow();
    fake.respondWith({ kind: "reset" });
    await expect(client.chat.completions.create(params)).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
    expect(fake.aborts).toBe(abortsBefore);
  });

  it("resets just the HTTP/2 stream, keeping the connection", async () => {
    await client.chat.completions.create(params); // a live connection, whatever earlier tests broke
    const connections = fake.connections;
    fake.respondWith({ kind: "stream", text: TEXT, resetAfterEvents: 3, resetMode: "stream" });
    const consume = async () => {
      for await (const _ of await client.chat.completions.create(streamParams));
    };
    await expect(consume()).rejects.toThrow();
    expect((await client.chat.completions.create(params)).choices[0]?.message.content).toBe(DEFAULT_TEXT);
    expect(fake.connections).toBe(connections);
  });

  it.each([true, false])("hangs until the client aborts, then emits abort (HTTP/2: %s)", async (http2) => {
    const abortsBefore = fake.aborts;
    fake.respondWith({ kind: "hang" });
    const controller = new AbortController();
    const arrived = once(fake, "request");
    const aborted = once(fake, "abort");
    const call = (http2 ? client : h1Client).chat.completions.create(params, { signal: controller.signal });
    await arrived;
    const abortedAt = performance.now();
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(OpenAI.APIUserAbortError);
    const [at] = (await aborted) as [number];
    expect(at).toBeGreaterThanOrEqual(abortedAt);
    expect(fake.aborts).toBe(abortsBefore + 1);
  });

  it("emits abort, once, when the client abandons a slow stream mid-way", async () => {
    await client.chat.completions.create(params); // a live connection, whatever earlier tests broke
    const abortsBefore = fake.aborts;
    const aborts: number[] = [];
    const onAbort = (at: number) => aborts.push(at);
    fake.on("abort", onAbort);
    fake.respondWith({ kind: "stream", text: TEXT, eventDelayMs: 50 });
    let abandonedAt = Number.NaN;
    for await (const chunk of await client.chat.completions.create(streamParams)) {
      if (chunk.choices[0]?.delta.content) {
        abandonedAt = performance.now();
        break;
      }
    }
    // Ordered, not timed: the next request on the same HTTP/2 connection reaches the fake after
    // the abandoned stream's RST_STREAM, so by its answer the fake has seen the abort.
    await client.chat.completions.create(params);
    fake.off("abort", onAbort);
    expect(fake.aborts).toBe(abortsBefore + 1);
    expect(aborts).toHaveLength(1);
    expect(aborts[0]).toBeGreaterThanOrEqual(abandonedAt);
  });

  it("paces a slow stream", async () => {
    fake.respondWith({ kind: "stream", text: TEXT, headersDelayMs: 50, eventDelayMs: 20 });
    const started = performance.now();
    const final = await client.chat.completions.stream(streamParams).finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe(TEXT);
    expect(performance.now() - started).toBeGreaterThanOrEqual(50 + 8 * 20 - 5);
  });
});

describe("fake Anthropic, through the official @anthropic-ai/sdk", () => {
  let fake: FakeAnthropic;
  let client: Anthropic;
  let h1Client: Anthropic;
  const make = (http2: boolean, apiKey = KEY) =>
    new Anthropic({
      apiKey,
      baseURL: fake.origin,
      maxRetries: 0,
      fetch,
      fetchOptions: { dispatcher: agentFor(fake, http2) },
    });
  const params = {
    model: "claude-fake-1",
    max_tokens: 100,
    messages: [{ role: "user" as const, content: PROMPT }],
  };

  beforeAll(async () => {
    fake = await startFakeAnthropic({ apiKey: KEY });
    client = make(true);
    h1Client = make(false);
  });
  afterAll(() => fake.close());

  it("answers messages.create with the exact text and usage, recording the SDK's headers", async () => {
    fake.respondWith({ kind: "answer", text: TEXT });
    const message = await client.messages.create(params);
    expect(message).toMatchObject({
      type: "message",
      role: "assistant",
      stop_reason: "end_turn",
      stop_sequence: null,
    });
    expect(message.id).toMatch(/^msg_01/);
    expect(message.content).toEqual([{ type: "text", text: TEXT }]);
    expect(message.usage).toMatchObject({ input_tokens: 4, output_tokens: 5, cache_read_input_tokens: 0 });
    const request = fake.requests.at(-1);
    expect(request?.httpVersion).toBe("2.0");
    expect(request?.headers).toMatchObject({
      authorization: `Bearer ${KEY}`,
      "anthropic-version": "2026-10-21",
    });
    expect(request?.headers["x-api-key"]).toBeUndefined();
  });

  it.each(["anthropic", "anthropic-padded", "anthropic-2026", "unknown-events"] as const)(
    "streams the %s flavour to the same final message",
    async (flavour) => {
      fake.respondWith({ kind: "answer", flavour, text: TEXT, cacheReadTokens: 3 });
      const message = await client.messages.stream(params).finalMessage();
      expect(message.content).toEqual([{ type: "text", text: TEXT }]);
      expect(message.stop_reason).toBe("end_turn");
      expect(message.usage).toMatchObject({ input_tokens: 4, output_tokens: 5, cache_read_input_tokens: 3 });
    },
  );

  it("streams thinking (with its signature) and tool_use blocks over HTTP/1.1", async () => {
    fake.respondWith({ kind: "stream", flavour: "thinking", text: TEXT });
    const thought = await h1Client.messages.stream(params).finalMessage();
    expect(thought.content[0]).toMatchObject({ type: "thinking", thinking: DEFAULT_THINKING });
    expect(thought.content[0]?.type === "thinking" && thought.content[0].signature).toMatch(/^Eq/);
    expect(thought.content[1]).toEqual({ type: "text", text: TEXT });
    expect(thought.usage.output_tokens).toBe(tokenize(DEFAULT_THINKING).length + 5);
    expect(fake.requests.at(-1)?.httpVersion).toBe("1.1");
    fake.respondWith({ kind: "stream", flavour: "tool-use", text: TEXT });
    const used = await h1Client.messages.stream(params).finalMessage();
    expect(used.stop_reason).toBe("tool_use");
    expect(used.content[1]).toMatchObject({ type: "tool_use", ...DEFAULT_TOOL_USE });
    expect(used.usage.output_tokens).toBe(5 + TOOL_INPUT_FRAGMENTS);
  });

  it("streams raw events with create({stream: true}), unknown ones included", async () => {
    fake.respondWith({ kind: "answer", flavour: "unknown-events" });
    const types: string[] = [];
    let text = "";
    for await (const event of await client.messages.create({ ...params, stream: true })) {
      types.push(event.type);
      if (event.type === "content_block_delta" && event.delta.type === "text_delta") text += event.delta.text;
    }
    expect(text).toBe(DEFAULT_TEXT);
    expect(types[0]).toBe("message_start");
    expect(types).toContain("future_event");
    expect(types.at(-1)).toBe("message_stop");
  });

  it("stops at max_tokens and at a stop sequence", async () => {
    fake.respondWith({ kind: "answer", text: TEXT }, { kind: "answer", text: TEXT });
    const cut = await client.messages.create({ ...params, max_tokens: 2 });
    expect(cut).toMatchObject({ stop_reason: "max_tokens", content: [{ text: "Hello world," }] });
    const stopped = await client.messages.stream({ ...params, stop_sequences: [" from"] }).finalMessage();
    expect(stopped).toMatchObject({ stop_reason: "stop_sequence", stop_sequence: " from" });
    expect(stopped.content).toEqual([{ type: "text", text: "Hello world," }]);
  });

  it("surfaces an error event after the 200, and a JSON error to a stream request", async () => {
    fake.respondWith({ kind: "stream", flavour: "error-event", text: TEXT });
    const failed = await client.messages
      .stream(params)
      .finalMessage()
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(AnthropicAPIError);
    expect(failed).toMatchObject({ type: "overloaded_error", apiMessage: "Overloaded" });
    fake.respondWith({ kind: "answer", flavour: "json-error-on-stream" });
    const rejected = await client.messages.create({ ...params, stream: true }).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(Anthropic.OverloadedError);
    expect(rejected).toMatchObject({ status: 529, type: "overloaded_error" });
  });

  const errors = [
    [429, Anthropic.RateLimitError, "rate_limit_error"],
    [529, Anthropic.OverloadedError, "overloaded_error"],
    [500, Anthropic.InternalServerError, "api_error"],
    [400, Anthropic.BadRequestError, "invalid_request_error"],
    [401, Anthropic.AuthenticationError, "authentication_error"],
    [403, Anthropic.PermissionDeniedError, "permission_error"],
    [404, Anthropic.NotFoundError, "not_found_error"],
    [413, Anthropic.ContentTooLargeError, "request_too_large"],
  ] as const;
  it.each(errors)("surfaces a %i as the SDK's typed error", async (status, type, errorType) => {
    fake.respondWith({ kind: "error", status, retryAfter: 7 });
    const error = await client.messages.create(params).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({ status, type: errorType });
    expect((error as AnthropicAPIError).requestID).toMatch(/^req_011/);
    expect((error as AnthropicAPIError).headers?.get("retry-after")).toBe("7");
  });

  it("checks auth and required fields like the real API", async () => {
    const denied = await make(true, "sk-wrong")
      .messages.create(params)
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((denied as AnthropicAPIError).error).toMatchObject({
      type: "error",
      error: { type: "authentication_error", message: "invalid x-api-key" },
    });
    const raw = (headers: Record<string, string>, body: object) =>
      undiciFetch(`${fake.origin}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
        dispatcher: agentFor(fake, true),
      });
    const ok = await raw({ "x-api-key": KEY, "anthropic-version": "2023-06-01" }, params);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("request-id")).toMatch(/^req_/);
    const noMax = await raw(
      { "x-api-key": KEY, "anthropic-version": "2023-06-01" },
      { ...params, max_tokens: undefined },
    );
    expect(noMax.status).toBe(400);
    expect(await noMax.json()).toMatchObject({
      type: "error",
      error: { type: "invalid_request_error", message: "max_tokens: Field required" },
      request_id: expect.stringMatching(/^req_/),
    });
  });
});

describe("fake Gemini, through the official @google/genai SDK", () => {
  let fake: FakeGemini;
  const make = (http2: boolean, apiKey = KEY) =>
    new GoogleGenAI({
      apiKey,
      httpOptions: {
        baseUrl: fake.origin,
        // The gateway's version; SDK 3.3 defaults to v1, which the fake serves too.
        apiVersion: "v1beta",
        // The fake's certificate, trusted through undici's fetch; no retries, so each call is one request.
        fetch: trustingFetch(agentFor(fake, http2)),
        retryOptions: { attempts: 1 },
      },
    });

  beforeAll(async () => {
    fake = await startFakeGemini({ apiKey: KEY });
  });
  afterAll(() => fake.close());

  it("answers generateContent with the exact text, finish reason and usage", async () => {
    fake.respondWith({ kind: "answer", text: TEXT, cachedTokens: 2 });
    const response = await make(true).models.generateContent({ model: "gemini-fake", contents: PROMPT });
    expect(response.text).toBe(TEXT);
    expect(response.candidates?.[0]?.finishReason).toBe("STOP");
    expect(response.usageMetadata).toMatchObject({
      promptTokenCount: 4 + 2,
      candidatesTokenCount: 5,
      cachedContentTokenCount: 2,
      totalTokenCount: 11,
    });
    expect(response.responseId).toMatch(/^\w{22}$/);
    const request = fake.requests.at(-1);
    expect(request).toMatchObject({ path: "/v1beta/models/gemini-fake:generateContent", httpVersion: "2.0" });
    expect(request?.headers["x-goog-api-key"]).toBe(KEY);
  });

  it("streams generateContentStream over HTTP/1.1 in pieces through multi-byte characters", async () => {
    const text = "Grüße aus Köln 👋 — fin.";
    fake.respondWith({ kind: "answer", text, wordsPerChunk: 1, chunkBytes: 5 });
    let streamed = "";
    let last: { finishReason?: string } | undefined;
    for await (const chunk of await make(false).models.generateContentStream({
      model: "gemini-fake",
      contents: PROMPT,
    })) {
      streamed += chunk.text ?? "";
      last = chunk.candidates?.[0] ?? last;
    }
    expect(streamed).toBe(text);
    expect(last?.finishReason).toBe("STOP");
    expect(fake.requests.at(-1)).toMatchObject({
      path: "/v1beta/models/gemini-fake:streamGenerateContent?alt=sse",
      httpVersion: "1.1",
    });
  });

  it("gives thoughts and function calls as the SDK reads them", async () => {
    fake.respondWith({ kind: "answer", flavour: "thinking", text: TEXT });
    const thought = await make(true).models.generateContent({
      model: "gemini-fake",
      contents: PROMPT,
      config: { thinkingConfig: { includeThoughts: true, thinkingBudget: 1024 } },
    });
    expect(thought.text).toBe(TEXT);
    expect(thought.candidates?.[0]?.content?.parts?.[0]).toEqual({
      text: DEFAULT_GEMINI_THOUGHT,
      thought: true,
    });
    expect(thought.usageMetadata?.thoughtsTokenCount).toBeGreaterThan(0);
    fake.respondWith({ kind: "answer", flavour: "function-call" });
    const called = await make(true).models.generateContent({ model: "gemini-fake", contents: PROMPT });
    expect(called.functionCalls).toEqual([DEFAULT_FUNCTION_CALL]);
  });

  it("surfaces HTTP errors and an in-stream error chunk as the SDK's ApiError", async () => {
    fake.respondWith({ kind: "error", status: 429, retryAfter: 12 });
    const limited = await make(true)
      .models.generateContent({ model: "gemini-fake", contents: PROMPT })
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(GeminiApiError);
    expect(limited).toMatchObject({ status: 429 });
    const detail = JSON.parse((limited as Error).message).error;
    expect(detail).toMatchObject({ code: 429, status: "RESOURCE_EXHAUSTED" });
    expect(detail.details).toContainEqual({
      "@type": "type.googleapis.com/google.rpc.RetryInfo",
      retryDelay: "12s",
    });
    const wrong = await make(true, "AIzaWrongKey-0000000000000000000000000")
      .models.generateContent({ model: "gemini-fake", contents: PROMPT })
      .catch((e: unknown) => e);
    expect(wrong).toMatchObject({ status: 400 });
    expect((wrong as Error).message).toContain("API_KEY_INVALID");
    fake.respondWith({ kind: "stream", flavour: "error-chunk", wordsPerChunk: 1, errorAfterEvents: 2 });
    let text = "";
    const consume = async () => {
      for await (const chunk of await make(true).models.generateContentStream({
        model: "gemini-fake",
        contents: PROMPT,
      }))
        text += chunk.text ?? "";
    };
    await expect(consume()).rejects.toMatchObject({ status: 503 });
    expect(text).toBe("Hello from");
  });

  it("refuses what Google refuses: an unknown field, a bad role", async () => {
    const raw = (body: object) =>
      undiciFetch(`${fake.origin}/v1beta/models/gemini-fake:generateContent`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-goog-api-key": KEY },
        body: JSON.stringify(body),
        dispatcher: agentFor(fake, true),
      });
    const unknown = await raw({ contents: [{ role: "user", parts: [{ text: "hi" }] }], max_tokens: 5 });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({
      error: {
        code: 400,
        status: "INVALID_ARGUMENT",
        message: expect.stringContaining('Unknown name "max_tokens"'),
      },
    });
    const role = await raw({ contents: [{ role: "assistant", parts: [{ text: "hi" }] }] });
    expect(await role.json()).toMatchObject({ error: { message: "Please use a valid role: user, model." } });
  });
});

describe("transport options", () => {
  const body = JSON.stringify({ model: "m", max_tokens: 5, messages: [{ role: "user", content: PROMPT }] });
  const headers = { "x-api-key": KEY, "anthropic-version": "2023-06-01", "content-type": "application/json" };

  it("offers only http/1.1 when http1Only, even to an h2-capable client", async () => {
    const fake = await startFakeAnthropic({ apiKey: KEY, http1Only: true });
    const response = await undiciFetch(`${fake.origin}/v1/messages`, {
      method: "POST",
      headers,
      body,
      dispatcher: agentFor(fake, true),
    });
    expect(await response.json()).toMatchObject({ content: [{ text: DEFAULT_TEXT }] });
    expect(fake.requests[0]?.httpVersion).toBe("1.1");
    await fake.close();
  });

  it("serves cleartext HTTP/1.1", async () => {
    const fake = await startFakeAnthropic({ apiKey: KEY, cleartext: true });
    expect(fake.origin).toMatch(/^http:\/\//);
    const response = await undiciFetch(`${fake.origin}/v1/messages`, { method: "POST", headers, body });
    expect(response.status).toBe(200);
    expect(fake).toMatchObject({ connections: 1, requestCount: 1 });
    await fake.close();
  });
});

describe("fake Bedrock Runtime, through the official @aws-sdk/client-bedrock-runtime", () => {
  const credentials = {
    accessKeyId: "ASIAIOSFODNN7EXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    sessionToken: "IQoJb3JpZ2luX2VjEXAMPLEsessionTOKENvalue0123456789abcdef",
  };
  const region = "us-west-2";
  const modelId = "anthropic.claude-3-5-haiku-20241022-v1:0";
  const messages = [{ role: "user" as const, content: [{ text: "Say hello to me" }] }];
  const text = "Hello world, from a fake.";
  let fake: FakeBedrock;
  const clients: BedrockRuntimeClient[] = [];
  const client = (http2: boolean, secretAccessKey = credentials.secretAccessKey) => {
    const requestHandler = http2
      ? new NodeHttp2Handler({ nodeHttp2ConnectOptions: { ca: fake.ca } })
      : new NodeHttpHandler({ httpsAgent: new HttpsAgent({ ca: fake.ca }) });
    const made = new BedrockRuntimeClient({
      region,
      endpoint: fake.origin,
      credentials: { ...credentials, secretAccessKey },
      requestHandler,
      maxAttempts: 1,
    });
    clients.push(made);
    return made;
  };

  beforeAll(async () => {
    fake = await startFakeBedrock({ credentials, region });
  });
  afterAll(async () => {
    for (const made of clients) made.destroy();
    await fake.close();
  });

  it.each([
    ["HTTP/2", true, "2.0"],
    ["HTTP/1.1", false, "1.1"],
  ])(
    "Converse over %s: the SDK's signature verifies, and it reads text, stop reason and usage",
    async (_, http2, version) => {
      fake.respondWith({ kind: "answer", text, cacheReadTokens: 7, cacheWriteTokens: 11 });
      const verified = fake.verifiedSignatures;
      const response = await client(http2).send(
        new ConverseCommand({
          modelId,
          messages,
          system: [{ text: "Be brief" }],
          inferenceConfig: { maxTokens: 50 },
        }),
      );
      expect(fake.verifiedSignatures).toBe(verified + 1);
      expect(response.output?.message).toEqual({ role: "assistant", content: [{ text }] });
      expect(response.stopReason).toBe("end_turn");
      // 6 prompt words; inputTokens leaves the cache out, totalTokens counts it.
      expect(response.usage).toEqual({
        inputTokens: 6,
        outputTokens: 5,
        totalTokens: 6 + 5 + 7 + 11,
        cacheReadInputTokens: 7,
        cacheWriteInputTokens: 11,
      });
      const request = fake.requests.at(-1);
      expect(request).toMatchObject({ method: "POST", httpVersion: version });
      expect(request?.path).toBe(`/model/${encodeURIComponent(modelId)}/converse`);
      expect(request?.headers).toMatchObject({ "x-amz-security-token": credentials.sessionToken });
      expect(request?.body).toMatchObject({ messages, inferenceConfig: { maxTokens: 50 } });
    },
  );

  it("Converse with tools and thinking: the SDK reads toolUse and reasoningContent", async () => {
    fake.respondWith({ kind: "answer", flavour: "tool-use", redactedReasoning: "AAECAw==" });
    const response = await client(true).send(
      new ConverseCommand({
        modelId,
        messages,
        toolConfig: {
          tools: [{ toolSpec: { name: "get_weather", inputSchema: { json: { type: "object" } } } }],
        },
        additionalModelRequestFields: { thinking: { type: "enabled", budget_tokens: 1024 } },
      }),
    );
    expect(response.stopReason).toBe("tool_use");
    const content = response.output?.message?.content ?? [];
    expect(content[0]?.reasoningContent?.reasoningText).toMatchObject({ text: DEFAULT_REASONING });
    expect(content[1]?.reasoningContent?.redactedContent).toEqual(new Uint8Array([0, 1, 2, 3]));
    expect(content.at(-1)?.toolUse).toMatchObject({
      toolUseId: expect.stringMatching(/^tooluse_/),
      name: "get_weather",
    });
  });

  it.each([
    ["HTTP/2", true],
    ["HTTP/1.1", false],
  ])("ConverseStream over %s: the SDK decodes every event of the binary stream", async (_, http2) => {
    fake.respondWith({ kind: "answer", text, flavour: "tool-use", chunkBytes: 7 });
    const response = await client(http2).send(
      new ConverseStreamCommand({
        modelId,
        messages,
        toolConfig: {
          tools: [{ toolSpec: { name: "get_weather", inputSchema: { json: { type: "object" } } } }],
        },
      }),
    );
    const events: ConverseStreamOutput[] = [];
    for await (const event of response.stream ?? []) events.push(event);
    const kinds = events.map((e) => Object.keys(e).find((k) => k !== "$unknown"));
    expect(kinds[0]).toBe("messageStart");
    expect(kinds.slice(-2)).toEqual(["messageStop", "metadata"]);
    const deltas = events.flatMap((e) => (e.contentBlockDelta ? [e.contentBlockDelta.delta] : []));
    expect(deltas.map((d) => d?.text ?? "").join("")).toBe(text);
    expect(deltas.map((d) => d?.toolUse?.input ?? "").join("")).toBe("{}");
    expect(events.find((e) => e.contentBlockStart)?.contentBlockStart?.start?.toolUse?.name).toBe(
      "get_weather",
    );
    expect(events.at(-2)?.messageStop?.stopReason).toBe("tool_use");
    expect(events.at(-1)?.metadata?.usage).toMatchObject({ inputTokens: 4, outputTokens: 5 + 2 }); // `{` and `}`
  });

  it("an exception event mid-stream is the SDK's ThrottlingException", async () => {
    fake.respondWith({ kind: "answer", text, exceptionAfterEvents: 3, exceptionMessage: "Slow down" });
    const response = await client(true).send(new ConverseStreamCommand({ modelId, messages }));
    const texts: string[] = [];
    const error = await (async () => {
      for await (const event of response.stream ?? []) texts.push(event.contentBlockDelta?.delta?.text ?? "");
    })().catch((caught: unknown) => caught);
    expect(texts.join("")).toBe("Hello world,");
    expect(error).toMatchObject({ name: "ThrottlingException", message: "Slow down" });
  });

  it("an error status is the SDK's typed exception, with Bedrock's message", async () => {
    fake.respondWith({ kind: "error", status: 400, message: "The model ID is invalid." });
    const error = await client(false)
      .send(new ConverseCommand({ modelId, messages }))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: "ValidationException",
      message: "The model ID is invalid.",
      $metadata: { httpStatusCode: 400 },
    });
  });

  it("a signature made with the wrong secret is refused with AWS's InvalidSignatureException", async () => {
    const refused = fake.refusedSignatures.length;
    const error = await client(true, "not-the-secret-key-0123456789")
      .send(new ConverseCommand({ modelId, messages }))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "InvalidSignatureException", $metadata: { httpStatusCode: 403 } });
    expect(fake.refusedSignatures).toHaveLength(refused + 1);
  });
});
