import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  GenerateRequestSchema,
  ReasoningEffort,
  ToolChoiceMode,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { GatewayError } from "../../src/errors/gateway-error.js";
import { type GenerationInput, validateRequest } from "../../src/service/validate-request.js";

// What every API's request becomes: a GenerateRequest (here made with protobuf-es, as the RPCs
// receive it) checked field by field into the provider-neutral ChatRequest.
const LIMITS = { maxRequestBytes: 64 * 1024 };
const WEATHER_SCHEMA = '{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}';
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);

function request(fields: MessageInitShape<typeof GenerateRequestSchema>) {
  return create(GenerateRequestSchema, {
    model: "m",
    messages: [{ role: "user", content: "hi" }],
    ...fields,
  });
}

function problemOf(input: GenerationInput, limits = LIMITS): string {
  try {
    validateRequest(input, limits);
  } catch (error) {
    if (error instanceof GatewayError && error.kind === "invalid_argument") return error.message;
    throw error;
  }
  throw new Error("the request was accepted");
}

describe("an agent loop's turns", () => {
  const loop = request({
    system: "Be brief.",
    messages: [
      { role: "system", content: "Use metric units." },
      {
        role: "user",
        parts: [
          { part: { case: "text", value: "Weather in Paris and Oslo? Here is a map:" } },
          {
            part: { case: "image", value: { source: { case: "data", value: PNG }, mediaType: "image/png" } },
          },
          {
            part: { case: "image", value: { source: { case: "url", value: "https://example.com/map.jpg" } } },
          },
        ],
      },
      {
        role: "assistant",
        reasoning: [{ text: "Two cities: two calls.", signature: "sig-1" }],
        toolCalls: [
          { id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
          { id: "call_2", name: "get_weather", arguments: '{"city":"Oslo"}' },
        ],
      },
      { role: "tool", toolCallId: "call_1", content: '{"celsius":21}' },
      { role: "tool", toolCallId: "call_2", content: "the weather service timed out", isError: true },
    ],
    tools: [
      { name: "get_weather", description: "Weather now", parametersJson: WEATHER_SCHEMA, strict: true },
    ],
    toolChoice: { choice: { case: "mode", value: ToolChoiceMode.AUTO } },
    parallelToolCalls: true,
    reasoningEffort: ReasoningEffort.LOW,
    seed: 42n,
    user: "user-7",
  });

  test("become provider-neutral messages, tools and settings, each as the caller gave it", () => {
    expect(validateRequest(loop, LIMITS)).toEqual({
      system: "Be brief.\n\nUse metric units.",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Weather in Paris and Oslo? Here is a map:" },
            { type: "image", image: { mediaType: "image/png", base64: Buffer.from(PNG).toString("base64") } },
            { type: "image", image: { url: "https://example.com/map.jpg" } },
          ],
        },
        {
          role: "assistant",
          content: [],
          reasoning: [{ text: "Two cities: two calls.", signature: "sig-1" }],
          toolCalls: [
            { id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
            { id: "call_2", name: "get_weather", arguments: '{"city":"Oslo"}' },
          ],
        },
        {
          role: "tool",
          toolCallId: "call_1",
          content: [{ type: "text", text: '{"celsius":21}' }],
          isError: false,
        },
        {
          role: "tool",
          toolCallId: "call_2",
          content: [{ type: "text", text: "the weather service timed out" }],
          isError: true,
        },
      ],
      stop: [],
      tools: [
        {
          name: "get_weather",
          description: "Weather now",
          parameters: JSON.parse(WEATHER_SCHEMA),
          strict: true,
        },
      ],
      toolChoice: { type: "auto" },
      parallelToolCalls: true,
      reasoningEffort: "low",
      seed: 42,
      user: "user-7",
    });
  });

  // Agent apps set these on every turn, some turns without tools; OpenAI refuses them there.
  test("without tools, a tool_choice of auto or none and parallel_tool_calls say nothing, and are dropped", () => {
    for (const mode of [ToolChoiceMode.AUTO, ToolChoiceMode.NONE]) {
      const chat = validateRequest(
        request({ toolChoice: { choice: { case: "mode", value: mode } }, parallelToolCalls: false }),
        LIMITS,
      );
      expect(chat).not.toHaveProperty("toolChoice");
      expect(chat).not.toHaveProperty("parallelToolCalls");
    }
  });

  test("a schema keeps its key order: providers generate arguments in it", () => {
    const schema = '{"type":"object","properties":{"zeta":{"type":"string"},"alpha":{"type":"string"}}}';
    const { tools } = validateRequest(request({ tools: [{ name: "t", parametersJson: schema }] }), LIMITS);
    expect(JSON.stringify(tools[0]?.parameters)).toBe(schema);
  });

  test("a data: URL image is read into its media type and base64, like inline bytes", () => {
    const url = `data:image/webp;base64,${Buffer.from(PNG).toString("base64")}`;
    const { messages } = validateRequest(
      request({
        messages: [
          {
            role: "user",
            parts: [{ part: { case: "image", value: { source: { case: "url", value: url } } } }],
          },
        ],
      }),
      LIMITS,
    );
    expect(messages[0]?.content).toEqual([
      { type: "image", image: { mediaType: "image/webp", base64: Buffer.from(PNG).toString("base64") } },
    ]);
  });

  test("a structured-output request carries its schema; a named tool choice names a tool", () => {
    const chat = validateRequest(
      request({
        tools: [{ name: "lookup" }],
        toolChoice: { choice: { case: "toolName", value: "lookup" } },
        responseFormat: {
          format: { case: "jsonSchema", value: { name: "answer", schemaJson: WEATHER_SCHEMA, strict: true } },
        },
        reasoningBudgetTokens: 2048,
        maxTokens: 4096,
      }),
      LIMITS,
    );
    expect(chat).toMatchObject({
      tools: [{ name: "lookup", parameters: { type: "object", properties: {} } }],
      toolChoice: { type: "tool", name: "lookup" },
      responseFormat: {
        type: "json_schema",
        name: "answer",
        schema: JSON.parse(WEATHER_SCHEMA),
        strict: true,
      },
      reasoningBudgetTokens: 2048,
    });
  });
});

describe("mistakes are INVALID_ARGUMENT naming the field", () => {
  const image = (value: {
    source: { case: "url"; value: string } | { case: "data"; value: Uint8Array };
    mediaType?: string;
  }) => request({ messages: [{ role: "user", parts: [{ part: { case: "image", value } }] }] });

  test.each([
    [
      "a tool result that answers no call",
      request({
        messages: [
          { role: "user", content: "hi" },
          { role: "tool", toolCallId: "call_9", content: "x" },
        ],
      }),
      'messages[1].tool_call_id "call_9" answers no tool call of an earlier assistant turn',
    ],
    [
      "a tool turn without its call id",
      request({ messages: [{ role: "tool", content: "x" }] }),
      "messages[0].tool_call_id is required in a tool turn",
    ],
    [
      "tool call arguments that are not a JSON object",
      request({
        messages: [{ role: "assistant", toolCalls: [{ id: "c", name: "t", arguments: "[1]" }] }],
      }),
      "messages[0].tool_calls[0].arguments must be a JSON object",
    ],
    [
      "an empty assistant turn",
      request({
        messages: [
          { role: "user", content: "hi" },
          { role: "assistant", content: "" },
        ],
      }),
      "messages[1].content must not be empty in an assistant turn without tool calls",
    ],
    [
      "both content and parts",
      request({
        messages: [{ role: "user", content: "hi", parts: [{ part: { case: "text", value: "x" } }] }],
      }),
      "messages[0].parts must be empty when content holds the turn's text",
    ],
    [
      "an image in a system turn",
      request({
        messages: [
          {
            role: "system",
            parts: [
              { part: { case: "image", value: { source: { case: "url", value: "https://x/y.png" } } } },
            ],
          },
          { role: "user", content: "hi" },
        ],
      }),
      "messages[0].parts[0] must be text in this turn",
    ],
    [
      "an image of an unknown format",
      image({ source: { case: "data", value: PNG }, mediaType: "image/bmp" }),
      'messages[0].parts[0].image.media_type must be one of image/png, image/jpeg, image/gif, image/webp, not "image/bmp"',
    ],
    [
      "an image URL that is neither http(s) nor data",
      image({ source: { case: "url", value: "file:///etc/passwd" } }),
      "messages[0].parts[0].image.url must be an http(s) URL or a data:image/...;base64, URL",
    ],
    [
      "a tool name providers refuse",
      request({ tools: [{ name: "get weather" }] }),
      'tools[0].name must be 1 to 64 letters, digits, "_" or "-", not "get weather"',
    ],
    [
      "two tools of one name",
      request({ tools: [{ name: "t" }, { name: "t" }] }),
      'tools[1].name "t" names another tool too',
    ],
    [
      "a schema that is not JSON",
      request({ tools: [{ name: "t", parametersJson: "{type:object}" }] }),
      "tools[0].parameters_json is not JSON",
    ],
    [
      "a schema that is not an object",
      request({ tools: [{ name: "t", parametersJson: "[]" }] }),
      "tools[0].parameters_json must be a JSON object",
    ],
    [
      "a tool choice naming no tool",
      request({ tools: [{ name: "t" }], toolChoice: { choice: { case: "toolName", value: "u" } } }),
      'tool_choice.tool_name "u" is not one of the request\'s tools',
    ],
    [
      "REQUIRED without tools",
      request({ toolChoice: { choice: { case: "mode", value: ToolChoiceMode.REQUIRED } } }),
      "tool_choice.mode REQUIRED needs at least one tool in tools",
    ],
    [
      "a reasoning budget under 1024",
      request({ reasoningBudgetTokens: 100 }),
      "reasoning_budget_tokens must be at least 1024, not 100",
    ],
    [
      "a reasoning budget at max_tokens",
      request({ reasoningBudgetTokens: 2048, maxTokens: 2048 }),
      "reasoning_budget_tokens must be below max_tokens (2048), not 2048",
    ],
    ["a seed past 2^53", request({ seed: 2n ** 60n }), "seed must be a safe integer"],
    [
      "an unknown role",
      request({ messages: [{ role: "function", content: "x" }] }),
      'messages[0].role must be "user", "assistant", "system" or "tool", not "function"',
    ],
  ])("%s", (_, input, problem) => {
    expect(problemOf(input)).toContain(problem);
  });

  test("a schema nested past 64 levels: no provider body can be built from it", () => {
    const deep = `${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}`;
    expect(
      problemOf(request({ tools: [{ name: "t", parametersJson: deep }] }), { maxRequestBytes: 1 << 20 }),
    ).toBe("tools[0].parameters_json nests deeper than 64 levels");
  });

  test("each element costs its structure: a flood of empty parts is over the limit", () => {
    const parts = Array.from({ length: 3000 }, () => ({ part: { case: "text" as const, value: "" } }));
    expect(problemOf(request({ messages: [{ role: "user", parts }] }))).toMatch(
      /^messages carry \d+ bytes, over the limit/,
    );
  });

  test("at most 128 tools", () => {
    const tools = Array.from({ length: 129 }, (_, i) => ({ name: `t${i}` }));
    expect(problemOf(request({ tools }), { maxRequestBytes: 1 << 20 })).toBe(
      "tools holds at most 128 tools (OpenAI's limit)",
    );
  });

  test("images count against max_request_bytes", () => {
    const big = new Uint8Array(70 * 1024);
    expect(problemOf(image({ source: { case: "data", value: big }, mediaType: "image/png" }))).toMatch(
      /^messages carry \d+ bytes, over the limit of 65536 bytes \(server\.max_request_bytes\)$/,
    );
  });
});

test("any GenerateRequest that survives the wire is accepted or refused as INVALID_ARGUMENT, never thrown otherwise", () => {
  const text = fc.string({ maxLength: 12 });
  const message = fc.record({
    role: fc.constantFrom("user", "assistant", "system", "tool", "robot"),
    content: text,
    toolCallId: fc.constantFrom("", "c1", "c2"),
    toolCalls: fc.array(
      fc.record({
        id: fc.constantFrom("", "c1", "c2"),
        name: text,
        arguments: fc.constantFrom("", "{}", '{"a":1}', "[", "1"),
      }),
      { maxLength: 2 },
    ),
  });
  fc.assert(
    fc.property(
      fc.array(message, { maxLength: 5 }),
      fc.array(
        fc.record({ name: text, parametersJson: fc.constantFrom("", "{}", "[]", "{", '{"type":"object"}') }),
        { maxLength: 2 },
      ),
      (messages, tools) => {
        const input = request({ messages, tools });
        // What protobuf-es would put on the wire, so the case is one a caller can send.
        toBinary(GenerateRequestSchema, input);
        try {
          validateRequest(input, LIMITS);
        } catch (error) {
          if (!(error instanceof GatewayError) || error.kind !== "invalid_argument") throw error;
        }
      },
    ),
    { numRuns: 500 },
  );
});
