import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors/gateway-error.js";
import type { ChatMessage, ChatRequest, ToolChoice } from "../../src/providers/provider.js";
import { anthropicOverFake, chat, eventsOf, MAX_TOKENS, user } from "./anthropic-wire-harness.js";

const { fake, provider } = anthropicOverFake();

/** Sends `request` unary and returns the JSON body the fake received (and accepted). */
async function sent(request: ChatRequest): Promise<unknown> {
  await provider().generate(request, new AbortController().signal);
  return fake().requests.at(-1)?.body;
}

const WEATHER = {
  name: "get_weather",
  description: "The weather in a city",
  parameters: {
    type: "object",
    properties: { city: { type: "string" } },
    required: ["city"],
    additionalProperties: false,
  },
  strict: true,
};
const TIME = { name: "get_time", parameters: { type: "object", properties: {} } };
const PIXEL =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const SIGNATURE = "EqQBCkYIBxgCKkDsig==";

describe("the body sent to POST /v1/messages", () => {
  it("is the model, max_tokens, one text part as a string, and nothing unset", async () => {
    expect(await sent(chat({ messages: [user("Hi")] }))).toEqual({
      model: "claude-x",
      max_tokens: MAX_TOKENS,
      messages: [{ role: "user", content: "Hi" }],
    });
  });

  it("carries every sampling and agent field in Anthropic's names", async () => {
    const body = await sent(
      chat({
        system: "Be brief",
        maxTokens: 2048,
        temperature: 0.5,
        topP: 0.9,
        stop: ["END"],
        tools: [WEATHER, TIME],
        toolChoice: { type: "auto" },
        parallelToolCalls: false,
        reasoningBudgetTokens: 1024,
        reasoningEffort: "high",
        responseFormat: {
          type: "json_schema",
          name: "answer",
          description: "ignored: Anthropic's format has no name",
          schema: { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
        },
        user: "user-42",
      }),
    );
    expect(body).toEqual({
      model: "claude-x",
      max_tokens: 2048,
      messages: [{ role: "user", content: "Say hello" }],
      system: "Be brief",
      temperature: 0.5,
      top_p: 0.9,
      stop_sequences: ["END"],
      tools: [
        {
          name: "get_weather",
          description: "The weather in a city",
          input_schema: WEATHER.parameters,
          strict: true,
        },
        { name: "get_time", input_schema: TIME.parameters },
      ],
      tool_choice: { type: "auto", disable_parallel_tool_use: true },
      thinking: { type: "enabled", budget_tokens: 1024 },
      metadata: { user_id: "user-42" },
      output_config: {
        effort: "high",
        format: {
          type: "json_schema",
          schema: { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
        },
      },
    });
  });

  it("sends `stream: true` only when streaming", async () => {
    const { error } = await eventsOf(provider(), chat());
    expect(error).toBeUndefined();
    expect(fake().requests.at(-1)?.body).toEqual({
      model: "claude-x",
      max_tokens: MAX_TOKENS,
      messages: [{ role: "user", content: "Say hello" }],
      stream: true,
    });
  });

  it("sends images as blocks: a URL as a url source, inline data and data: URLs as base64", async () => {
    const svg = "<svg xmlns='http://www.w3.org/2000/svg'/>";
    const body = await sent(
      chat({
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "What is in these?" },
              { type: "image", image: { url: "https://example.com/cat.png" } },
              { type: "image", image: { mediaType: "image/png", base64: PIXEL } },
              { type: "image", image: { url: `data:image/png;base64,${PIXEL}` } },
              { type: "image", image: { url: `data:image/svg+xml,${encodeURIComponent(svg)}` } },
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
            { type: "image", source: { type: "url", url: "https://example.com/cat.png" } },
            { type: "image", source: { type: "base64", media_type: "image/png", data: PIXEL } },
            { type: "image", source: { type: "base64", media_type: "image/png", data: PIXEL } },
            {
              type: "image",
              source: {
                type: "base64",
                media_type: "image/svg+xml",
                data: Buffer.from(svg).toString("base64"),
              },
            },
          ],
        },
      ],
    });
  });

  it("sends an agent loop back as the API wants it: reasoning with its signature first, tool results merged into one user turn before the user's text", async () => {
    const messages: ChatMessage[] = [
      user("Weather and time in Paris?"),
      {
        role: "assistant",
        content: [{ type: "text", text: "Let me look." }],
        reasoning: [
          { text: "Two tools at once.", signature: SIGNATURE },
          { text: "", redactedData: "EmwKAhgBEgy3va3pzix/LafPsn4a" },
        ],
        toolCalls: [
          { id: "toolu_01A", name: "get_weather", arguments: '{"city":"Paris"}' },
          { id: "toolu_01B", name: "get_time", arguments: "{}" },
        ],
      },
      { role: "tool", toolCallId: "toolu_01A", content: [{ type: "text", text: "18°C" }], isError: false },
      {
        role: "tool",
        toolCallId: "toolu_01B",
        content: [
          { type: "text", text: "clock broken, see:" },
          { type: "image", image: { mediaType: "image/png", base64: PIXEL } },
        ],
        isError: true,
      },
      user("And tomorrow?"),
      { role: "assistant", content: [{ type: "text", text: "Sunny." }], reasoning: [], toolCalls: [] },
      user("Thanks"),
    ];
    const body = await sent(chat({ tools: [WEATHER, TIME], messages }));
    expect((body as { messages: unknown }).messages).toEqual([
      { role: "user", content: "Weather and time in Paris?" },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "Two tools at once.", signature: SIGNATURE },
          { type: "redacted_thinking", data: "EmwKAhgBEgy3va3pzix/LafPsn4a" },
          { type: "text", text: "Let me look." },
          { type: "tool_use", id: "toolu_01A", name: "get_weather", input: { city: "Paris" } },
          { type: "tool_use", id: "toolu_01B", name: "get_time", input: {} },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_01A", content: "18°C", is_error: false },
          {
            type: "tool_result",
            tool_use_id: "toolu_01B",
            content: [
              { type: "text", text: "clock broken, see:" },
              { type: "image", source: { type: "base64", media_type: "image/png", data: PIXEL } },
            ],
            is_error: true,
          },
          { type: "text", text: "And tomorrow?" },
        ],
      },
      { role: "assistant", content: "Sunny." },
      { role: "user", content: "Thanks" },
    ]);
  });

  it("leaves out an empty text part, an empty tool result's content, and reasoning no Anthropic model signed", async () => {
    const body = await sent(
      chat({
        messages: [
          user("Time?"),
          {
            role: "assistant",
            content: [{ type: "text", text: "" }],
            reasoning: [{ text: "an OpenAI summary" }],
            toolCalls: [{ id: "toolu_01C", name: "get_time", arguments: "{}" }],
          },
          { role: "tool", toolCallId: "toolu_01C", content: [], isError: false },
        ],
      }),
    );
    expect((body as { messages: unknown[] }).messages.slice(1)).toEqual([
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_01C", name: "get_time", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_01C", is_error: false }] },
    ]);
  });

  const CHOICES: [ToolChoice | undefined, boolean | undefined, object | undefined][] = [
    [undefined, undefined, undefined],
    [undefined, true, undefined],
    [undefined, false, { type: "auto", disable_parallel_tool_use: true }],
    [{ type: "auto" }, undefined, { type: "auto" }],
    [{ type: "auto" }, false, { type: "auto", disable_parallel_tool_use: true }],
    [{ type: "none" }, undefined, { type: "none" }],
    [{ type: "none" }, false, { type: "none" }],
    [{ type: "required" }, true, { type: "any" }],
    [{ type: "required" }, false, { type: "any", disable_parallel_tool_use: true }],
    [{ type: "tool", name: "get_time" }, undefined, { type: "tool", name: "get_time" }],
    [
      { type: "tool", name: "get_time" },
      false,
      { type: "tool", name: "get_time", disable_parallel_tool_use: true },
    ],
  ];
  it.each(CHOICES)(
    "maps tool_choice %j with parallel_tool_calls %j to %j",
    async (choice, parallel, expected) => {
      const body = (await sent(
        chat({
          tools: [TIME],
          ...(choice ? { toolChoice: choice } : {}),
          ...(parallel === undefined ? {} : { parallelToolCalls: parallel }),
        }),
      )) as { tool_choice?: unknown };
      expect(body.tool_choice).toEqual(expected);
    },
  );

  it("sends nothing for response_format text", async () => {
    expect(await sent(chat({ responseFormat: { type: "text" } }))).not.toHaveProperty("output_config");
  });

  it("makes room for a thinking budget when the caller set no max_tokens (max_tokens must exceed it)", async () => {
    expect(await sent(chat({ reasoningBudgetTokens: 8192 }))).toMatchObject({
      max_tokens: MAX_TOKENS + 8192,
      thinking: { type: "enabled", budget_tokens: 8192 },
    });
  });

  it("maps reasoning effort low, medium and high to output_config.effort", async () => {
    for (const effort of ["low", "medium", "high"] as const) {
      expect(await sent(chat({ reasoningEffort: effort }))).toMatchObject({ output_config: { effort } });
    }
  });
});

describe("what the Messages API cannot take is refused before anything is sent", () => {
  const REFUSED: [string, Partial<ChatRequest>, RegExp][] = [
    ["seed", { seed: 7 }, /^seed is not supported by provider anthropic-wire \(/],
    [
      "minimal effort",
      { reasoningEffort: "minimal" },
      /^reasoning_effort minimal is not supported by provider anthropic-wire \(.*low, medium and high/,
    ],
    [
      "json_object",
      { responseFormat: { type: "json_object" } },
      /^response_format json_object is not supported by provider anthropic-wire \(.*json_schema/,
    ],
  ];
  it.each(REFUSED)(
    "%s: INVALID_ARGUMENT, reason UNSUPPORTED_FIELD, unary and streaming",
    async (_, fields, message) => {
      const before = fake().requestCount;
      const unary = await provider()
        .generate(chat(fields), new AbortController().signal)
        .catch((error: unknown) => error);
      const { events, error: streamed } = await eventsOf(provider(), chat(fields));
      for (const error of [unary, streamed]) {
        expect(error).toBeInstanceOf(GatewayError);
        expect(error).toMatchObject({
          kind: "invalid_argument",
          reason: "UNSUPPORTED_FIELD",
          retryable: false,
        });
        expect((error as Error).message).toMatch(message);
      }
      expect(events).toEqual([]);
      expect(fake().requestCount).toBe(before);
    },
  );

  it.each(["[1,2]", '"text"', "null", "{not json"])(
    "tool call arguments %s: INVALID_ARGUMENT naming the field",
    async (args) => {
      const messages: ChatMessage[] = [
        user("Time?"),
        {
          role: "assistant",
          content: [],
          reasoning: [],
          toolCalls: [
            { id: "toolu_01D", name: "get_time", arguments: "{}" },
            { id: "toolu_01E", name: "get_time", arguments: args },
          ],
        },
      ];
      const error = await provider()
        .generate(chat({ messages }), new AbortController().signal)
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({ kind: "invalid_argument", reason: "INVALID_FIELD" });
      expect((error as Error).message).toMatch(
        /^tool_calls\[1\]\.arguments \(tool call toolu_01E\) must be a JSON object/,
      );
    },
  );
});

/** A conversation of agent rounds: tool calls, their results in any order, maybe a user message. */
const conversations = fc
  .array(
    fc.record({
      calls: fc.integer({ min: 1, max: 3 }),
      order: fc.func(fc.integer()),
      userAfter: fc.boolean(),
      thinking: fc.boolean(),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .map((rounds) => {
    const messages: ChatMessage[] = [user("Start")];
    rounds.forEach((round, r) => {
      const ids = Array.from({ length: round.calls }, (_, c) => `toolu_${r}_${c}`);
      messages.push({
        role: "assistant",
        content: [],
        reasoning: round.thinking ? [{ text: "Hm.", signature: SIGNATURE }] : [],
        toolCalls: ids.map((id) => ({ id, name: "get_time", arguments: "{}" })),
      });
      const answered = [...ids].sort((a, b) => round.order(a) - round.order(b));
      for (const id of answered)
        messages.push({
          role: "tool",
          toolCallId: id,
          content: [{ type: "text", text: "12:00" }],
          isError: false,
        });
      if (round.userAfter) messages.push(user("Go on"));
    });
    return messages;
  });

describe("any agent conversation", () => {
  it("is sent in turns that alternate, each tool_use answered first thing in the next turn (the fake checks it as the API does)", async () => {
    await fc.assert(
      fc.asyncProperty(conversations, async (messages) => {
        const body = (await sent(chat({ tools: [TIME], messages }))) as { messages: { role: string }[] };
        const roles = body.messages.map((turn) => turn.role);
        expect(roles).toEqual(roles.map((_, i) => (i % 2 === 0 ? "user" : "assistant")));
      }),
      { numRuns: 40 },
    );
  });
});
