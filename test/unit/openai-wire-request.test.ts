import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors/gateway-error.js";
import type { ChatRequest, ResponseFormat, ToolChoice } from "../../src/providers/provider.js";
import { ask, lastBody, openAIOverFake, PROVIDER, request, streamOf } from "./openai-wire-harness.js";

const { fake, provider } = openAIOverFake();
const signal = () => new AbortController().signal;

/** Sends `chat` unary and returns the JSON body the upstream received; the fake accepted it. */
async function sent(chat: ChatRequest): Promise<unknown> {
  await provider().generate(chat, signal());
  return lastBody(fake());
}

const WEATHER = {
  name: "get_weather",
  description: "The weather in a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  strict: true,
};
const TIME = { name: "get_time", parameters: { type: "object", properties: {} } };
const PIXEL =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

describe("the body sent to POST /chat/completions", () => {
  it("is the model, the system prompt first and one text part as a string, and nothing unset", async () => {
    expect(await sent(request({ system: "Be brief", messages: [ask("Hi")] }))).toEqual({
      model: "gpt-4o-mini",
      messages: [
        { role: "system", content: "Be brief" },
        { role: "user", content: "Hi" },
      ],
    });
  });

  it("sends a user turn with images as parts: a URL as it is, inline data as a data: URL", async () => {
    const body = await sent(
      request({
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "What is in these?" },
              { type: "image", image: { url: "https://example.com/cat.png" } },
              { type: "image", image: { mediaType: "image/png", base64: PIXEL } },
            ],
          },
        ],
      }),
    );
    expect(body).toMatchObject({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is in these?" },
            { type: "image_url", image_url: { url: "https://example.com/cat.png" } },
            { type: "image_url", image_url: { url: `data:image/png;base64,${PIXEL}` } },
          ],
        },
      ],
    });
  });

  it("sends tool calls and their results: null content for a turn of only calls, no reasoning, no error flag", async () => {
    const call = (id: string, name: string, args: string) => ({ id, name, arguments: args });
    const body = await sent(
      request({
        tools: [WEATHER, TIME],
        messages: [
          ask("Weather and time in Paris?"),
          {
            role: "assistant",
            content: [],
            toolCalls: [call("call_1", "get_weather", '{"city":"Paris"}'), call("call_2", "get_time", "{}")],
            reasoning: [{ text: "Two tools at once.", signature: "sig" }],
          },
          { role: "tool", toolCallId: "call_1", content: [{ type: "text", text: "18°C" }], isError: false },
          {
            role: "tool",
            toolCallId: "call_2",
            content: [{ type: "text", text: "no clock" }],
            isError: true,
          },
          {
            role: "assistant",
            content: [{ type: "text", text: "Let me check again." }],
            toolCalls: [call("call_3", "get_time", '{"tz":"CET"}')],
            reasoning: [],
          },
          { role: "tool", toolCallId: "call_3", content: [{ type: "text", text: "12:00" }], isError: false },
          {
            role: "assistant",
            content: [{ type: "text", text: "18°C at noon." }],
            toolCalls: [],
            reasoning: [],
          },
          ask("Thanks"),
        ],
      }),
    );
    const fn = (id: string, name: string, args: string) => ({
      id,
      type: "function",
      function: { name, arguments: args },
    });
    expect((body as { messages: unknown }).messages).toEqual([
      { role: "user", content: "Weather and time in Paris?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [fn("call_1", "get_weather", '{"city":"Paris"}'), fn("call_2", "get_time", "{}")],
      },
      { role: "tool", tool_call_id: "call_1", content: "18°C" },
      { role: "tool", tool_call_id: "call_2", content: "no clock" },
      {
        role: "assistant",
        content: "Let me check again.",
        tool_calls: [fn("call_3", "get_time", '{"tz":"CET"}')],
      },
      { role: "tool", tool_call_id: "call_3", content: "12:00" },
      { role: "assistant", content: "18°C at noon." },
      { role: "user", content: "Thanks" },
    ]);
  });

  it("sends a tool result of several text parts as text parts", async () => {
    const body = await sent(
      request({
        tools: [TIME],
        messages: [
          ask("Time?"),
          {
            role: "assistant",
            content: [],
            toolCalls: [{ id: "c", name: "get_time", arguments: "{}" }],
            reasoning: [],
          },
          {
            role: "tool",
            toolCallId: "c",
            content: [
              { type: "text", text: "12:00" },
              { type: "text", text: "CET" },
            ],
            isError: false,
          },
        ],
      }),
    );
    expect((body as { messages: unknown[] }).messages[2]).toEqual({
      role: "tool",
      tool_call_id: "c",
      content: [
        { type: "text", text: "12:00" },
        { type: "text", text: "CET" },
      ],
    });
  });

  it("sends every option the caller set, in OpenAI's shapes", async () => {
    const body = await sent(
      request({
        maxTokens: 300,
        temperature: 0.2,
        topP: 0.9,
        stop: ["END"],
        tools: [WEATHER, TIME],
        toolChoice: { type: "tool", name: "get_weather" },
        parallelToolCalls: false,
        responseFormat: { type: "json_object" },
        reasoningEffort: "low",
        seed: 42,
        user: "user-7",
      }),
    );
    expect(body).toEqual({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Say hello" }],
      // A reasoning effort means a reasoning model, which takes only max_completion_tokens.
      max_completion_tokens: 300,
      temperature: 0.2,
      top_p: 0.9,
      stop: ["END"],
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            description: "The weather in a city",
            parameters: WEATHER.parameters,
            strict: true,
          },
        },
        { type: "function", function: { name: "get_time", parameters: TIME.parameters } },
      ],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: false,
      response_format: { type: "json_object" },
      reasoning_effort: "low",
      seed: 42,
      user: "user-7",
    });
  });

  it("sends max_tokens to a model without a reasoning effort, as compatible servers know it", async () => {
    expect(await sent(request({ maxTokens: 64 }))).toMatchObject({ max_tokens: 64 });
  });

  it.each<[ToolChoice, unknown]>([
    [{ type: "auto" }, "auto"],
    [{ type: "none" }, "none"],
    [{ type: "required" }, "required"],
    [
      { type: "tool", name: "get_time" },
      { type: "function", function: { name: "get_time" } },
    ],
  ])("sends tool_choice %o as %o", async (toolChoice, wire) => {
    expect(await sent(request({ tools: [TIME], toolChoice }))).toMatchObject({ tool_choice: wire });
  });

  it.each<[ResponseFormat, unknown]>([
    [{ type: "text" }, { type: "text" }],
    [{ type: "json_object" }, { type: "json_object" }],
    [
      { type: "json_schema", name: "city", schema: { type: "object" } },
      { type: "json_schema", json_schema: { name: "city", schema: { type: "object" } } },
    ],
    [
      { type: "json_schema", name: "city", schema: { type: "object" }, description: "A city", strict: true },
      {
        type: "json_schema",
        json_schema: { name: "city", schema: { type: "object" }, description: "A city", strict: true },
      },
    ],
  ])("sends response_format %o exactly", async (responseFormat, wire) => {
    const body = (await sent(request({ responseFormat }))) as { response_format: unknown };
    expect(body.response_format).toEqual(wire);
  });

  it("asks a stream for its usage too", async () => {
    expect((await streamOf(provider(), request({ maxTokens: 5 }))).error).toBeUndefined();
    expect(lastBody(fake())).toEqual({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Say hello" }],
      max_tokens: 5,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  // The body holds what was set and nothing else: an unset field is absent, never null.
  it("leaves out every field the caller did not set, whichever were set", async () => {
    const options = fc.record(
      {
        maxTokens: fc.integer({ min: 1, max: 4096 }),
        temperature: fc.double({ min: 0, max: 2, noNaN: true }),
        topP: fc.double({ min: 0, max: 1, noNaN: true }),
        toolChoice: fc.constant<ToolChoice>({ type: "required" }),
        parallelToolCalls: fc.boolean(),
        responseFormat: fc.constant<ResponseFormat>({ type: "json_object" }),
        reasoningEffort: fc.constantFrom("minimal", "low", "medium", "high" as const),
        seed: fc.integer(),
        user: fc.string({ minLength: 1 }),
      },
      { requiredKeys: [] },
    );
    const WIRE: Record<string, string> = {
      maxTokens: "max_tokens",
      temperature: "temperature",
      topP: "top_p",
      toolChoice: "tool_choice",
      parallelToolCalls: "parallel_tool_calls",
      responseFormat: "response_format",
      reasoningEffort: "reasoning_effort",
      seed: "seed",
      user: "user",
    };
    await fc.assert(
      fc.asyncProperty(options, async (set) => {
        const body = (await sent(request({ ...set, tools: [TIME] }))) as Record<string, unknown>;
        const wire = (key: string) =>
          key === "maxTokens" && set.reasoningEffort !== undefined ? "max_completion_tokens" : WIRE[key];
        const expected = ["model", "messages", "tools", ...Object.keys(set).map(wire)];
        expect(Object.keys(body).sort()).toEqual(expected.sort());
        expect(Object.values(body)).not.toContain(null);
      }),
      { numRuns: 40 },
    );
  });
});

// The fake refuses what OpenAI refuses, so the bodies above passed OpenAI's own checks too.
describe("a body OpenAI would refuse is refused by the fake, with OpenAI's words", () => {
  it("a tool result that answers no call", async () => {
    const orphan = request({
      messages: [ask("Hi"), { role: "tool", toolCallId: "call_x", content: [], isError: false }],
    });
    const error = await provider()
      .generate(orphan, signal())
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: "invalid_argument", status: 400 });
    expect((error as Error).message).toContain("messages with role 'tool' must be a response");
  });

  it("a tool_choice that requires a tool without tools", async () => {
    const error = await provider()
      .generate(request({ toolChoice: { type: "required" } }), signal())
      .catch((caught: unknown) => caught);
    expect((error as Error).message).toContain("'tool_choice' is only allowed when 'tools' are specified");
  });
});

describe("what Chat Completions cannot carry is refused, and nothing is sent", () => {
  async function refusal(chat: ChatRequest): Promise<GatewayError> {
    const before = fake().requestCount;
    const error = await provider()
      .generate(chat, signal())
      .then(
        () => expect.fail("the request was sent"),
        (caught: unknown) => caught,
      );
    expect(fake().requestCount).toBe(before);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ kind: "invalid_argument", reason: "UNSUPPORTED_FIELD", retryable: false });
    return error as GatewayError;
  }

  it("a reasoning budget, pointing to reasoning_effort, unary and streaming", async () => {
    const error = await refusal(request({ reasoningBudgetTokens: 2048 }));
    expect(error.message).toBe(
      `reasoning_budget_tokens is not supported by provider ${PROVIDER} (OpenAI's API takes reasoning_effort instead)`,
    );
    const stream = provider().stream(request({ reasoningBudgetTokens: 2048 }), signal());
    await expect(stream[Symbol.asyncIterator]().next()).rejects.toMatchObject({
      reason: "UNSUPPORTED_FIELD",
    });
  });

  it("an image in a tool result, naming where it is", async () => {
    const error = await refusal(
      request({
        messages: [
          ask("Draw"),
          {
            role: "assistant",
            content: [],
            toolCalls: [{ id: "c", name: "draw", arguments: "{}" }],
            reasoning: [],
          },
          {
            role: "tool",
            toolCallId: "c",
            content: [
              { type: "text", text: "done" },
              { type: "image", image: { url: "https://example.com/drawing.png" } },
            ],
            isError: false,
          },
        ],
      }),
    );
    expect(error.message).toBe(
      `an image in a tool result (messages[2].content[1]) is not supported by provider ${PROVIDER} (only text goes there)`,
    );
  });

  it("an image in an assistant turn", async () => {
    const image = { type: "image" as const, image: { url: "https://example.com/a.png" } };
    const error = await refusal(
      request({
        messages: [ask("Hi"), { role: "assistant", content: [image], toolCalls: [], reasoning: [] }],
      }),
    );
    expect(error.message).toContain("an image in an assistant turn (messages[1].content[0])");
  });
});
