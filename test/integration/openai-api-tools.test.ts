import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  DEFAULT_TEXT,
  DEFAULT_THINKING,
  DEFAULT_TOOL_CALLS,
  type FakeAnthropic,
  type FakeOpenAI,
  startFakeAnthropic,
  startFakeOpenAI,
  TOOL_CALL_FRAGMENTS,
  tokenize,
} from "../support/fakes/index.js";
import { type ProviderGateway, startProviderGateway } from "../support/provider-gateway.js";

// Issue 14: what agent apps send, through the OpenAI API, as the official openai SDK sends and reads it.

const KEY = "sk-openai-api-tools";
const GPT = "openai/gpt-4o-mini";
const CLAUDE = "anthropic/claude-sonnet-4-5";
const question = { role: "user" as const, content: "What is the weather in Paris, and the time?" };

const TOOLS: OpenAI.ChatCompletionFunctionTool[] = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "The weather now in a city",
      parameters: {
        type: "object",
        properties: { city: { type: "string" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } },
        required: ["city", "unit"],
        additionalProperties: false,
      },
    },
  },
  {
    type: "function",
    function: {
      name: "get_time",
      parameters: { type: "object", properties: { timezone: { type: "string" } }, required: ["timezone"] },
    },
  },
];

/** The fake's default tool calls as OpenAI's message carries them; its ids are its own. */
const EXPECTED_CALLS = DEFAULT_TOOL_CALLS.map(({ name, arguments: args }) => ({
  id: expect.stringMatching(/^call_\w+$/),
  type: "function",
  function: { name, arguments: args },
}));

/** Calls the fake makes whatever tools are offered, so the test knows their arguments. */
const TOOL_CALLS_ANSWER = { kind: "answer", flavour: "tool-calls", toolCalls: DEFAULT_TOOL_CALLS } as const;

let openaiFake: FakeOpenAI;
let anthropicFake: FakeAnthropic;
let gw: ProviderGateway;
let client: OpenAI;

beforeAll(async () => {
  openaiFake = await startFakeOpenAI({ apiKey: KEY });
  anthropicFake = await startFakeAnthropic({ apiKey: KEY });
  gw = await startProviderGateway({
    providers: {
      openai: { type: "openai", upstream: openaiFake, apiKey: KEY },
      anthropic: { type: "anthropic", upstream: anthropicFake, apiKey: KEY },
    },
  });
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused-by-the-gateway", maxRetries: 0 });
});
afterAll(async () => {
  await gw?.close();
  await openaiFake?.close();
  await anthropicFake?.close();
});

/** Every chunk of a stream the SDK helper reads, and the completion it assembles from them. */
async function streamed(params: OpenAI.ChatCompletionCreateParamsStreaming) {
  const stream = client.chat.completions.stream(params);
  const chunks: OpenAI.ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return { chunks, completion: await stream.finalChatCompletion() };
}

const deltas = (chunks: OpenAI.ChatCompletionChunk[]) =>
  chunks.flatMap((c) => c.choices.map((ch) => ch.delta));

/** reasoning_content is not OpenAI's, so the SDK's types do not name it. */
type WithReasoning<T> = T & { reasoning_content?: string };

describe("tool calls from an OpenAI upstream", () => {
  test("a unary answer: tool_calls in OpenAI's shape, content null, finish_reason tool_calls", async () => {
    openaiFake.respondWith(TOOL_CALLS_ANSWER);
    const completion = await client.chat.completions.create({
      model: GPT,
      messages: [question],
      tools: TOOLS,
    });
    expect(completion.choices).toEqual([
      {
        index: 0,
        message: { role: "assistant", content: null, refusal: null, tool_calls: EXPECTED_CALLS },
        logprobs: null,
        finish_reason: "tool_calls",
      },
    ]);
    const ids = completion.choices[0]?.message.tool_calls?.map((call) => call.id);
    expect(new Set(ids).size).toBe(DEFAULT_TOOL_CALLS.length);
    expect(completion.usage).toMatchObject({
      completion_tokens: DEFAULT_TOOL_CALLS.length * TOOL_CALL_FRAGMENTS,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
  });

  test("a stream: the SDK's helper assembles the same tool calls; each call's id, type and name come once", async () => {
    openaiFake.respondWith(TOOL_CALLS_ANSWER);
    const { chunks, completion } = await streamed({
      model: GPT,
      messages: [question],
      tools: TOOLS,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(completion.choices[0]?.message).toMatchObject({ role: "assistant", content: null, refusal: null });
    expect(completion.choices[0]?.message.tool_calls).toEqual(EXPECTED_CALLS);
    expect(completion.choices[0]?.finish_reason).toBe("tool_calls");
    expect(completion.usage).toMatchObject({
      completion_tokens: DEFAULT_TOOL_CALLS.length * TOOL_CALL_FRAGMENTS,
    });

    const pieces = deltas(chunks).flatMap((delta) => delta.tool_calls ?? []);
    DEFAULT_TOOL_CALLS.forEach((call, index) => {
      const [first, ...rest] = pieces.filter((piece) => piece.index === index);
      expect(first).toEqual({
        index,
        id: completion.choices[0]?.message.tool_calls?.[index]?.id,
        type: "function",
        function: { name: call.name, arguments: expect.any(String) },
      });
      expect(rest.length).toBeGreaterThan(0);
      for (const piece of rest) expect(Object.keys(piece).sort()).toEqual(["function", "index"]);
      expect(rest.every((piece) => Object.keys(piece.function ?? {}).join() === "arguments")).toBe(true);
    });
  });

  test("the conversation goes on: the SDK's answer pushed back, the tool results and an image reach the upstream", async () => {
    openaiFake.respondWith(TOOL_CALLS_ANSWER);
    const first = await client.chat.completions.create({ model: GPT, messages: [question], tools: TOOLS });
    const asked = first.choices[0]?.message;
    const calls = (asked?.tool_calls ?? []) as OpenAI.ChatCompletionMessageFunctionToolCall[];
    expect(calls).toHaveLength(2);
    const image = "https://example.com/paris.jpg";
    /** Fields an upstream OpenAI gets as the caller sent them. */
    const fields = {
      tools: TOOLS,
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: false,
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "forecast",
          schema: { type: "object", properties: { summary: { type: "string" } }, required: ["summary"] },
          strict: true,
        },
      },
      seed: 7,
      user: "user-1234",
    } satisfies Partial<OpenAI.ChatCompletionCreateParamsNonStreaming>;

    openaiFake.respondWith({ kind: "answer", text: '{"summary":"Mild"}' });
    const second = await client.chat.completions.create({
      model: GPT,
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: question.content },
            { type: "image_url", image_url: { url: image } },
          ],
        },
        // As agent apps do: the SDK's own message, refusal: null and all.
        ...(asked ? [asked] : []),
        { role: "tool", tool_call_id: calls[0]?.id ?? "", content: "18°C, sunny" },
        { role: "tool", tool_call_id: calls[1]?.id ?? "", content: [{ type: "text", text: "09:41" }] },
      ],
      ...fields,
    });
    expect(second.choices[0]?.message.content).toBe('{"summary":"Mild"}');

    const sent = openaiFake.requests.at(-1)?.body as Record<string, unknown> & {
      messages: { role: string; content: unknown; tool_calls?: unknown; tool_call_id?: string }[];
    };
    expect(sent.messages.map((m) => m.role)).toEqual(["user", "assistant", "tool", "tool"]);
    expect(sent.messages[0]?.content).toEqual([
      { type: "text", text: question.content },
      { type: "image_url", image_url: { url: image } },
    ]);
    expect(sent.messages[1]?.tool_calls).toEqual(calls);
    expect(sent.messages.slice(2).map((m) => [m.tool_call_id, textOf(m.content)])).toEqual([
      [calls[0]?.id, "18°C, sunny"],
      [calls[1]?.id, "09:41"],
    ]);
    expect(sent).toMatchObject(fields);
  });
});

describe("a refusal from an OpenAI upstream", () => {
  const REFUSAL = "I can't help with that.";

  test("is message.refusal with content null, unary and streamed", async () => {
    openaiFake.respondWith({ kind: "answer", flavour: "refusal", text: REFUSAL });
    const completion = await client.chat.completions.create({ model: GPT, messages: [question] });
    expect(completion.choices[0]?.message).toEqual({ role: "assistant", content: null, refusal: REFUSAL });

    openaiFake.respondWith({ kind: "answer", flavour: "refusal", text: REFUSAL });
    const { chunks } = await streamed({ model: GPT, messages: [question], stream: true });
    expect(
      deltas(chunks)
        .map((delta) => delta.refusal ?? "")
        .join(""),
    ).toBe(REFUSAL);
    expect(deltas(chunks).some((delta) => delta.content)).toBe(false);
  });
});

describe("an OpenAI-compatible upstream that reasons (vLLM, DeepSeek)", () => {
  const REASONING = "The user asks two things; I need two tools.";
  const answer = { kind: "answer", reasoning: REASONING, cachedTokens: 4 } as const;
  const details = {
    prompt_tokens_details: { cached_tokens: 4 },
    completion_tokens_details: { reasoning_tokens: tokenize(REASONING).length },
  };

  test("its reasoning_content and token details come through, unary and streamed", async () => {
    openaiFake.respondWith(answer);
    const completion = await client.chat.completions.create({ model: GPT, messages: [question] });
    const message = completion.choices[0]?.message as WithReasoning<OpenAI.ChatCompletionMessage>;
    expect(message).toEqual({
      role: "assistant",
      content: DEFAULT_TEXT,
      refusal: null,
      reasoning_content: REASONING,
    });
    expect(completion.usage).toMatchObject(details);

    openaiFake.respondWith(answer);
    const { chunks, completion: streamedCompletion } = await streamed({
      model: GPT,
      messages: [question],
      stream: true,
      stream_options: { include_usage: true },
    });
    const pieces = deltas(chunks) as WithReasoning<OpenAI.ChatCompletionChunk.Choice.Delta>[];
    expect(pieces.map((delta) => delta.reasoning_content ?? "").join("")).toBe(REASONING);
    expect(streamedCompletion.choices[0]?.message.content).toBe(DEFAULT_TEXT);
    expect(streamedCompletion.usage).toMatchObject(details);
  });
});

describe("an Anthropic upstream through the OpenAI API", () => {
  test("its thinking is reasoning_content, unary and streamed", async () => {
    anthropicFake.respondWith({ kind: "answer", flavour: "thinking" });
    const completion = await client.chat.completions.create({
      model: CLAUDE,
      messages: [{ role: "user", content: "Hello" }],
      max_tokens: 1024,
    });
    const message = completion.choices[0]?.message as WithReasoning<OpenAI.ChatCompletionMessage>;
    expect(message).toMatchObject({ content: DEFAULT_TEXT, reasoning_content: DEFAULT_THINKING });

    anthropicFake.respondWith({ kind: "answer", flavour: "thinking" });
    const { chunks } = await streamed({
      model: CLAUDE,
      messages: [{ role: "user", content: "Hello" }],
      max_tokens: 1024,
      stream: true,
    });
    const pieces = deltas(chunks) as WithReasoning<OpenAI.ChatCompletionChunk.Choice.Delta>[];
    expect(pieces.map((delta) => delta.reasoning_content ?? "").join("")).toBe(DEFAULT_THINKING);
    expect(pieces.map((delta) => delta.content ?? "").join("")).toBe(DEFAULT_TEXT);
  });

  test("its tool_use is tool_calls, unary and streamed", async () => {
    const toolUse = { name: "get_weather", input: { city: "Paris", unit: "celsius" } };
    const expected = [
      {
        id: expect.stringMatching(/^toolu_/),
        type: "function",
        function: { name: "get_weather", arguments: expect.any(String) },
      },
    ];
    const params = { model: CLAUDE, messages: [question], tools: TOOLS, max_tokens: 1024 };

    anthropicFake.respondWith({ kind: "answer", flavour: "tool-use", toolUse });
    const unary = await client.chat.completions.create(params);
    anthropicFake.respondWith({ kind: "answer", flavour: "tool-use", toolUse });
    const { completion: stream } = await streamed({ ...params, stream: true });
    for (const completion of [unary, stream]) {
      const calls = completion.choices[0]?.message
        .tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[];
      expect(calls).toEqual(expected);
      expect(JSON.parse(calls[0]?.function.arguments ?? "")).toEqual(toolUse.input);
      expect(completion.choices[0]?.finish_reason).toBe("tool_calls");
    }
  });

  test("its cache reads are prompt_tokens_details.cached_tokens", async () => {
    anthropicFake.respondWith({ kind: "answer", cacheReadTokens: 1920 });
    const completion = await client.chat.completions.create({ model: CLAUDE, messages: [question] });
    expect(completion.usage?.prompt_tokens_details?.cached_tokens).toBe(1920);
  });
});

describe("a request the gateway's checks refuse", () => {
  const bmp = "data:image/bmp;base64,Qk0=";
  test.each([
    [
      {
        messages: [question],
        tools: TOOLS,
        tool_choice: { type: "function", function: { name: "get_news" } },
      },
      'tool_choice.function.name "get_news" is not one of the request\'s tools',
    ],
    [
      {
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: bmp } }] }],
      },
      'messages[0].content[0].image_url.url must be one of image/png, image/jpeg, image/gif, image/webp, not "image/bmp"',
    ],
    [
      {
        messages: [
          question,
          {
            role: "assistant",
            content: null,
            tool_calls: [
              { id: "call_1", type: "function", function: { name: "get_time", arguments: "[1]" } },
            ],
          },
        ],
      },
      "messages[1].tool_calls[0].function.arguments must be a JSON object",
    ],
  ] satisfies [Omit<OpenAI.ChatCompletionCreateParamsNonStreaming, "model">, string][])(
    "is a 400 naming the field as the caller spelled it: %#",
    async (params, says) => {
      const before = openaiFake.requestCount;
      const error = await client.chat.completions.create({ model: GPT, ...params }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect(error).toMatchObject({ status: 400, error: { message: says, type: "invalid_request_error" } });
      expect(openaiFake.requestCount).toBe(before);
    },
  );
});

/** A message's text, whether the provider sent it as a string or as text parts. */
function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  return (content as { text?: string }[]).map((part) => part.text ?? "").join("");
}
