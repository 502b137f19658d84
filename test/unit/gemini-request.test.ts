import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors/gateway-error.js";
import type { ChatMessage, ChatRequest, ToolChoice } from "../../src/providers/provider.js";
import { chat, eventsOf, geminiOverFake, KEY, MODEL, sentBody, user } from "./gemini-wire-harness.js";

const { fake, provider } = geminiOverFake();
const sent = (request: ChatRequest) => sentBody(fake, provider, request);

const WEATHER = {
  name: "get_weather",
  description: "The weather in a city",
  parameters: {
    type: "object",
    properties: { city: { type: "string" } },
    required: ["city"],
    additionalProperties: false,
  },
};
const TIME = { name: "get_time", parameters: { type: "object", properties: {} } };
const PIXEL =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const SIGNATURE = "CiQBjz1rX2fakeSignature==";

/** The request is refused before anything is sent, with `reason`. */
async function refused(request: ChatRequest, reason: string, message: RegExp): Promise<void> {
  const before = fake().requestCount;
  const error = await provider()
    .generate(request, new AbortController().signal)
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(GatewayError);
  expect(error).toMatchObject({ kind: "invalid_argument", reason });
  expect((error as Error).message).toMatch(message);
  expect(fake().requestCount).toBe(before);
}

describe("the request sent to models/{model}:generateContent", () => {
  it("is one user turn of one text part, the key in x-goog-api-key and never in the URL", async () => {
    expect(await sent(chat({ messages: [user("Hi")] }))).toEqual({
      contents: [{ role: "user", parts: [{ text: "Hi" }] }],
    });
    const request = fake().requests.at(-1);
    expect(request?.path).toBe(`/v1beta/models/${MODEL}:generateContent`);
    expect(request?.headers["x-goog-api-key"]).toBe(KEY);
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.path).not.toContain("key=");
  });

  it("carries every sampling field in generationConfig, the system prompt as systemInstruction", async () => {
    const body = await sent(
      chat({
        system: "Be brief",
        maxTokens: 2048,
        temperature: 0.5,
        topP: 0.9,
        stop: ["END"],
        seed: 7,
        reasoningBudgetTokens: 1024,
        responseFormat: {
          type: "json_schema",
          name: "answer",
          schema: { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
        },
      }),
    );
    expect(body).toEqual({
      contents: [{ role: "user", parts: [{ text: "Say hello" }] }],
      systemInstruction: { parts: [{ text: "Be brief" }] },
      generationConfig: {
        maxOutputTokens: 2048,
        temperature: 0.5,
        topP: 0.9,
        stopSequences: ["END"],
        seed: 7,
        responseMimeType: "application/json",
        responseJsonSchema: { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
        thinkingConfig: { thinkingBudget: 1024, includeThoughts: true },
      },
    });
  });

  it("streams from :streamGenerateContent?alt=sse with the same body", async () => {
    const { error } = await eventsOf(provider(), chat({ temperature: 0 }));
    expect(error).toBeUndefined();
    expect(fake().requests.at(-1)).toMatchObject({
      path: `/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`,
      body: {
        contents: [{ role: "user", parts: [{ text: "Say hello" }] }],
        generationConfig: { temperature: 0 },
      },
    });
  });

  it.each([
    ["minimal", "MINIMAL"],
    ["low", "LOW"],
    ["medium", "MEDIUM"],
    ["high", "HIGH"],
  ] as const)(
    "sends reasoning_effort %s as thinkingLevel %s, asking for the thoughts",
    async (effort, level) => {
      const body = await sent(chat({ reasoningEffort: effort }));
      expect(body).toMatchObject({
        generationConfig: { thinkingConfig: { thinkingLevel: level, includeThoughts: true } },
      });
    },
  );

  it("sends json_object as responseMimeType application/json, and text as text/plain", async () => {
    expect(await sent(chat({ responseFormat: { type: "json_object" } }))).toMatchObject({
      generationConfig: { responseMimeType: "application/json" },
    });
    expect(await sent(chat({ responseFormat: { type: "text" } }))).toMatchObject({
      generationConfig: { responseMimeType: "text/plain" },
    });
  });

  it("sends images inline (base64 and data: URLs) and by URL as fileData with the type its name tells", async () => {
    const svg = "<svg xmlns='http://www.w3.org/2000/svg'/>";
    const body = await sent(
      chat({
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "What is in these?" },
              { type: "image", image: { mediaType: "image/png", base64: PIXEL } },
              { type: "image", image: { url: `data:image/png;base64,${PIXEL}` } },
              { type: "image", image: { url: `data:image/svg+xml,${encodeURIComponent(svg)}` } },
              { type: "image", image: { url: "https://example.com/photos/cat.JPG?size=large" } },
            ],
          },
        ],
      }),
    );
    expect(body).toEqual({
      contents: [
        {
          role: "user",
          parts: [
            { text: "What is in these?" },
            { inlineData: { mimeType: "image/png", data: PIXEL } },
            { inlineData: { mimeType: "image/png", data: PIXEL } },
            { inlineData: { mimeType: "image/svg+xml", data: Buffer.from(svg).toString("base64") } },
            {
              fileData: { mimeType: "image/jpeg", fileUri: "https://example.com/photos/cat.JPG?size=large" },
            },
          ],
        },
      ],
    });
  });

  it("declares tools with their JSON Schema as parametersJsonSchema", async () => {
    const body = await sent(chat({ tools: [WEATHER, TIME] }));
    expect(body).toMatchObject({
      tools: [
        {
          functionDeclarations: [
            {
              name: "get_weather",
              description: "The weather in a city",
              parametersJsonSchema: WEATHER.parameters,
            },
            { name: "get_time", parametersJsonSchema: TIME.parameters },
          ],
        },
      ],
    });
    expect(body).not.toHaveProperty("toolConfig");
  });

  const CHOICES: [ToolChoice | undefined, boolean, object | undefined][] = [
    [{ type: "auto" }, false, { mode: "AUTO" }],
    [{ type: "none" }, false, { mode: "NONE" }],
    [{ type: "required" }, false, { mode: "ANY" }],
    [{ type: "tool", name: "get_time" }, false, { mode: "ANY", allowedFunctionNames: ["get_time"] }],
    [undefined, true, { mode: "VALIDATED" }],
    [{ type: "auto" }, true, { mode: "VALIDATED" }],
    [{ type: "required" }, true, { mode: "ANY" }],
  ];
  it.each(CHOICES)(
    "maps tool_choice %j (strict: %s) to functionCallingConfig %j",
    async (choice, strict, config) => {
      const tools = [{ ...WEATHER, strict }, TIME];
      const body = await sent(chat({ tools, ...(choice ? { toolChoice: choice } : {}) }));
      expect(body).toMatchObject({ toolConfig: { functionCallingConfig: config } });
    },
  );
});

describe("a conversation with function calls", () => {
  const assistant: ChatMessage = {
    role: "assistant",
    content: [{ type: "text", text: "Let me look." }],
    toolCalls: [
      { id: "call_a", name: "get_weather", arguments: '{"city":"Paris"}' },
      { id: "call_b", name: "get_time", arguments: "{}" },
    ],
    reasoning: [{ text: "The user wants weather and time." }, { text: "", signature: SIGNATURE }],
  };
  const results: ChatMessage[] = [
    { role: "tool", toolCallId: "call_b", content: [{ type: "text", text: "12:00" }], isError: false },
    { role: "tool", toolCallId: "call_a", content: [{ type: "text", text: "no such city" }], isError: true },
  ];

  it("sends calls that come without a signature (relayed through the OpenAI API, or begun by another model) with Google's stand-in on the first", async () => {
    const unsigned = { ...assistant, reasoning: [] };
    const body = (await sent(
      chat({ tools: [WEATHER, TIME], messages: [user("Weather and time?"), unsigned, ...results] }),
    )) as { contents: { parts: Record<string, unknown>[] }[] };
    const [first, second] = (body.contents[1]?.parts ?? []).filter((part) => "functionCall" in part);
    expect(first?.thoughtSignature).toBe("skip_thought_signature_validator");
    expect(second).not.toHaveProperty("thoughtSignature");
  });

  it("answers calls by name in ONE user turn; a user message after joins it; the signature goes back on the first call", async () => {
    const body = await sent(
      chat({
        tools: [WEATHER, TIME],
        messages: [user("Weather and time?"), assistant, ...results, user("Thanks")],
      }),
    );
    expect(body).toMatchObject({
      contents: [
        { role: "user", parts: [{ text: "Weather and time?" }] },
        {
          role: "model",
          parts: [
            { text: "Let me look." },
            {
              functionCall: { id: "call_a", name: "get_weather", args: { city: "Paris" } },
              thoughtSignature: SIGNATURE,
            },
            { functionCall: { id: "call_b", name: "get_time", args: {} } },
          ],
        },
        {
          role: "user",
          parts: [
            { functionResponse: { id: "call_b", name: "get_time", response: { output: "12:00" } } },
            { functionResponse: { id: "call_a", name: "get_weather", response: { error: "no such city" } } },
            { text: "Thanks" },
          ],
        },
      ],
    });
    // Thought text does not go back.
    expect(JSON.stringify(body)).not.toContain("The user wants");
  });

  it("sends a text turn's signature back on its last part", async () => {
    const body = await sent(
      chat({
        messages: [
          user("Hi"),
          {
            role: "assistant",
            content: [{ type: "text", text: "Hello!" }],
            toolCalls: [],
            reasoning: [{ text: "", signature: SIGNATURE }],
          },
          user("Again"),
        ],
      }),
    );
    expect(body).toMatchObject({
      contents: [{}, { role: "model", parts: [{ text: "Hello!", thoughtSignature: SIGNATURE }] }, {}],
    });
  });

  it("refuses a tool result whose id no assistant turn called, naming the field", async () => {
    await refused(
      chat({ messages: [user("Hi"), { role: "tool", toolCallId: "call_zz", content: [], isError: false }] }),
      "INVALID_FIELD",
      /^messages\[1\]\.tool_call_id names no tool call/,
    );
  });

  it("refuses arguments that are not a JSON object", async () => {
    const bad: ChatMessage = {
      ...assistant,
      toolCalls: [{ id: "call_a", name: "get_weather", arguments: "[1]" }],
    };
    await refused(
      chat({ messages: [user("Hi"), bad] }),
      "INVALID_FIELD",
      /tool_calls\[0\]\.arguments.*must be a JSON object/,
    );
  });
});

describe("what Gemini cannot take is refused, naming it, before anything is sent", () => {
  it.each([
    [{ user: "u-1" }, /^user is not supported by provider gemini-wire/],
    [{ parallelToolCalls: false, tools: [WEATHER] }, /^parallel_tool_calls false is not supported/],
    [
      { reasoningEffort: "low", reasoningBudgetTokens: 1024 },
      /^reasoning_effort with reasoning_budget_tokens/,
    ],
    [
      {
        messages: [
          { role: "user", content: [{ type: "image", image: { url: "https://example.com/image" } }] },
        ],
      },
      /^an image URL whose type its name does not tell \(messages\[0\]\.content\[0\]\)/,
    ],
    [
      {
        messages: [
          user("Hi"),
          {
            role: "assistant",
            content: [],
            toolCalls: [{ id: "c", name: "f", arguments: "{}" }],
            reasoning: [],
          },
          {
            role: "tool",
            toolCallId: "c",
            content: [{ type: "image", image: { mediaType: "image/png", base64: PIXEL } }],
            isError: false,
          },
        ],
      },
      /^an image in a tool result \(messages\[2\]\.content\[0\]\)/,
    ],
  ] as [Partial<ChatRequest>, RegExp][])("%j", async (fields, message) => {
    await refused(chat(fields), "UNSUPPORTED_FIELD", message);
  });

  it("a parallel_tool_calls of true is Gemini's default, and is accepted", async () => {
    expect(await sent(chat({ parallelToolCalls: true }))).toEqual({
      contents: [{ role: "user", parts: [{ text: "Say hello" }] }],
    });
  });
});

describe("any text conversation", () => {
  it("goes as user and model turns in order, empty messages left out, and the fake takes it", async () => {
    const turn = fc.record({
      assistant: fc.boolean(),
      text: fc.oneof(fc.constant(""), fc.string({ minLength: 1 })),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(turn, { minLength: 1, maxLength: 6 }), async (turns) => {
        const messages: ChatMessage[] = [
          user("Start"),
          ...turns.map(
            ({ assistant, text }): ChatMessage =>
              assistant
                ? { role: "assistant", content: [{ type: "text", text }], toolCalls: [], reasoning: [] }
                : user(text),
          ),
        ];
        const body = await sent(chat({ messages }));
        const expected = [{ assistant: false, text: "Start" }, ...turns]
          .filter((t) => t.text !== "")
          .map((t) => ({ role: t.assistant ? "model" : "user", parts: [{ text: t.text }] }));
        expect(body).toEqual({ contents: expected });
      }),
      { numRuns: 25 },
    );
  });
});
