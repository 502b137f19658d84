import type OpenAI from "openai";
import { describe, expect, test } from "vitest";
import { ReasoningEffort, ToolChoiceMode } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { GatewayError } from "../../src/errors/gateway-error.js";
import { parseChatRequest } from "../../src/openai-api/chat-request.js";

const MODEL = "gpt-4o-mini";
const hello = [{ role: "user" as const, content: "hello" }];

/** A request as the openai SDK sends it: typed by the SDK's own params, then written as JSON. */
const parse = (params: OpenAI.ChatCompletionCreateParams) => parseChatRequest(JSON.stringify(params));

/** The message a refused body gets (a 400 INVALID_FIELD). */
function refusal(body: object): string {
  try {
    parseChatRequest(JSON.stringify({ model: MODEL, messages: hello, ...body }));
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ kind: "invalid_argument", reason: "INVALID_FIELD" });
    return (error as GatewayError).message;
  }
  throw new Error("the body was accepted");
}

const text = (value: string) => ({ part: { case: "text", value } });
const imageUrl = (value: string) => ({
  part: { case: "image", value: { source: { case: "url", value }, mediaType: "" } },
});

describe("messages", () => {
  test("string content is the turn's text; developer is system", () => {
    const { input } = parse({
      model: MODEL,
      messages: [
        { role: "developer", content: "Be brief." },
        { role: "system", content: "Answer in French." },
        { role: "user", content: "hello" },
      ],
    });
    expect(input.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "system", content: "Answer in French." },
      { role: "user", content: "hello" },
    ]);
  });

  test("array content is the turn's parts, in order; a data: URL stays a URL and detail is dropped", () => {
    const data = "data:image/png;base64,iVBORw0KGgo=";
    const { input } = parse({
      model: MODEL,
      messages: [
        { role: "system", content: [{ type: "text", text: "Describe images." }] },
        {
          role: "user",
          content: [
            { type: "text", text: "What is in these?" },
            { type: "image_url", image_url: { url: "https://example.com/a.jpg", detail: "high" } },
            { type: "image_url", image_url: { url: data } },
          ],
        },
      ],
    });
    expect(input.messages).toEqual([
      { role: "system", content: "", parts: [text("Describe images.")] },
      {
        role: "user",
        content: "",
        parts: [text("What is in these?"), imageUrl("https://example.com/a.jpg"), imageUrl(data)],
      },
    ]);
  });

  test("an assistant turn with tool calls and null content, then the tool results", () => {
    const { input } = parse({
      model: MODEL,
      messages: [
        ...hello,
        {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: "call_1",
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Paris"}' },
            },
            { id: "call_2", type: "function", function: { name: "get_time", arguments: "{}" } },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: "18°C" },
        { role: "tool", tool_call_id: "call_2", content: [{ type: "text", text: "09:41" }] },
      ],
    });
    expect(input.messages.slice(1)).toEqual([
      {
        role: "assistant",
        content: "",
        toolCalls: [
          { id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
          { id: "call_2", name: "get_time", arguments: "{}" },
        ],
      },
      { role: "tool", toolCallId: "call_1", content: "18°C" },
      { role: "tool", toolCallId: "call_2", content: "", parts: [text("09:41")] },
    ]);
  });

  test("the SDK's own answer pushed back: refusal null, annotations, and its reasoning_content", () => {
    const answer = {
      role: "assistant",
      content: "Bonjour",
      refusal: null,
      annotations: [],
      reasoning_content: "The user greets me.",
    };
    const { input } = parseChatRequest(JSON.stringify({ model: MODEL, messages: [...hello, answer] }));
    expect(input.messages[1]).toEqual({
      role: "assistant",
      content: "Bonjour",
      reasoning: [{ text: "The user greets me." }],
    });
  });

  test("a refusal the model made is sent back as its text", () => {
    const { input } = parse({
      model: MODEL,
      messages: [
        ...hello,
        { role: "assistant", content: null, refusal: "I can't help with that." },
        { role: "assistant", content: [{ type: "refusal", refusal: "No." }] },
        { role: "assistant", content: "Well,", refusal: "no." },
      ],
    });
    expect(input.messages.slice(1)).toEqual([
      { role: "assistant", content: "I can't help with that." },
      { role: "assistant", content: "", parts: [text("No.")] },
      { role: "assistant", content: "", parts: [text("Well,"), text("no.")] },
    ]);
  });

  test.each([
    [
      { role: "user", content: [{ type: "input_audio", input_audio: { data: "UklGR", format: "wav" } }] },
      "messages[1].content[0] must be a text or image_url part: audio is not supported",
    ],
    [
      { role: "user", content: [{ type: "file", file: { file_id: "file-1" } }] },
      "messages[1].content[0] must be a text or image_url part: files are not supported",
    ],
    [
      { role: "system", content: [{ type: "image_url", image_url: { url: "https://example.com/a.jpg" } }] },
      'messages[1].content[0] must be a text part: "image_url" is not a part this message may hold',
    ],
    [
      { role: "user", content: [{ text: "hi" }] },
      "messages[1].content[0] must be a text or image_url part: it has no type",
    ],
    [
      { role: "user", content: [{ type: "image_url", image_url: {} }] },
      "messages[1].content[0].image_url.url is required",
    ],
    [{ role: "tool", content: "18°C" }, "messages[1].tool_call_id is required"],
    [
      { role: "assistant", tool_calls: [{ id: "c", type: "custom", custom: { name: "x", input: "" } }] },
      'messages[1].tool_calls[0] must be a function call: "custom" calls are not supported',
    ],
    [
      { role: "assistant", tool_calls: [{ id: "c", type: "function", function: { name: "x" } }] },
      "messages[1].tool_calls[0].function.arguments is required",
    ],
    [
      { role: "assistant", content: null, function_call: { name: "x", arguments: "{}" } },
      "messages[1].function_call is not supported: send tool_calls instead",
    ],
    [
      { role: "assistant", content: null, audio: { id: "audio_1" } },
      "messages[1].audio is not supported: audio is not carried",
    ],
    [
      { role: "function", name: "x", content: "{}" },
      'messages[1].role "function" is not supported: send tool results as "tool" messages',
    ],
    [
      { role: "robot", content: "beep" },
      'messages[1].role must be "system", "developer", "user", "assistant" or "tool", not "robot"',
    ],
  ])("%o is refused: %s", (message, says) => {
    expect(refusal({ messages: [...hello, message] })).toBe(says);
  });
});

describe("tools", () => {
  test("a function tool's parameters are JSON text with their keys in the caller's order", () => {
    const parameters = {
      type: "object",
      properties: { unit: { type: "string", enum: ["celsius", "fahrenheit"] }, city: { type: "string" } },
      required: ["unit", "city"],
      additionalProperties: false,
    };
    const { input } = parse({
      model: MODEL,
      messages: hello,
      tools: [
        {
          type: "function",
          function: { name: "get_weather", description: "The weather now", parameters, strict: true },
        },
        { type: "function", function: { name: "get_time" } },
      ],
      tool_choice: "required",
      parallel_tool_calls: false,
    });
    expect(input.tools).toEqual([
      {
        name: "get_weather",
        description: "The weather now",
        parametersJson:
          '{"type":"object","properties":{"unit":{"type":"string","enum":["celsius","fahrenheit"]},"city":{"type":"string"}},"required":["unit","city"],"additionalProperties":false}',
        strict: true,
      },
      { name: "get_time", description: undefined, parametersJson: undefined, strict: undefined },
    ]);
    expect(input.toolChoice).toEqual({ choice: { case: "mode", value: ToolChoiceMode.REQUIRED } });
    expect(input.parallelToolCalls).toBe(false);
  });

  test.each([
    ["auto", { case: "mode", value: ToolChoiceMode.AUTO }],
    ["none", { case: "mode", value: ToolChoiceMode.NONE }],
    ["required", { case: "mode", value: ToolChoiceMode.REQUIRED }],
    [
      { type: "function", function: { name: "get_weather" } },
      { case: "toolName", value: "get_weather" },
    ],
  ] as const)("tool_choice %o", (toolChoice, choice) => {
    const { input } = parse({ model: MODEL, messages: hello, tool_choice: toolChoice });
    expect(input.toolChoice).toEqual({ choice });
  });

  test("none of them set is none in the input", () => {
    const { input } = parse({ model: MODEL, messages: hello });
    expect(input).toMatchObject({ tools: undefined, toolChoice: undefined, parallelToolCalls: undefined });
  });

  test.each([
    [
      { tools: [{ type: "custom", custom: { name: "grep" } }] },
      'tools[0] must be a function tool: "custom" tools are not supported',
    ],
    [
      { tools: [{ type: "function", function: { name: "f", parameters: [] } }] },
      "tools[0].function.parameters must be a JSON object",
    ],
    [{ tool_choice: "any" }, 'tool_choice must be "auto", "none", "required" or a function, not "any"'],
    [
      { tool_choice: { type: "allowed_tools", allowed_tools: { mode: "auto", tools: [] } } },
      'tool_choice must be "auto", "none", "required" or a function: "allowed_tools" choices are not supported',
    ],
    [{ tool_choice: { type: "function", function: {} } }, "tool_choice.function.name is required"],
    [{ functions: [{ name: "f" }] }, "functions are not supported: send tools instead"],
    [{ function_call: "auto" }, "function_call is not supported: send tool_choice instead"],
  ])("%o is refused: %s", (body, says) => {
    expect(refusal(body)).toBe(says);
  });
});

describe("structured output, reasoning, seed and user", () => {
  test.each([
    [{ type: "text" }, { case: "text", value: true }],
    [{ type: "json_object" }, { case: "jsonObject", value: true }],
    [
      {
        type: "json_schema",
        json_schema: {
          name: "weather",
          description: "A forecast",
          schema: { type: "object", properties: { z: { type: "number" }, a: { type: "string" } } },
          strict: true,
        },
      },
      {
        case: "jsonSchema",
        value: {
          name: "weather",
          description: "A forecast",
          schemaJson: '{"type":"object","properties":{"z":{"type":"number"},"a":{"type":"string"}}}',
          strict: true,
        },
      },
    ],
  ] as const)("response_format %o", (responseFormat, format) => {
    const { input } = parse({ model: MODEL, messages: hello, response_format: responseFormat });
    expect(input.responseFormat).toEqual({ format });
  });

  test.each([
    ["minimal", ReasoningEffort.MINIMAL],
    ["low", ReasoningEffort.LOW],
    ["medium", ReasoningEffort.MEDIUM],
    ["high", ReasoningEffort.HIGH],
  ] as const)("reasoning_effort %s", (effort, value) => {
    expect(parse({ model: MODEL, messages: hello, reasoning_effort: effort }).input.reasoningEffort).toBe(
      value,
    );
  });

  test("seed is a bigint, user is carried", () => {
    const { input } = parse({ model: MODEL, messages: hello, seed: 42, user: "user-1234" });
    expect(input).toMatchObject({ seed: 42n, user: "user-1234" });
  });

  test.each([
    [
      { response_format: { type: "json_schema", json_schema: { name: "w" } } },
      "response_format.json_schema.schema must be a JSON object",
    ],
    [
      { response_format: { type: "xml" } },
      'response_format.type must be "text", "json_object" or "json_schema", not "xml"',
    ],
    [
      { reasoning_effort: "xhigh" },
      'reasoning_effort must be "minimal", "low", "medium" or "high", not "xhigh"',
    ],
    [
      { reasoning_effort: "none" },
      'reasoning_effort must be "minimal", "low", "medium" or "high", not "none"',
    ],
    [{ seed: 1.5 }, "seed is invalid: expected int, received number"],
  ])("%o is refused: %s", (body, says) => {
    expect(refusal(body)).toBe(says);
  });
});

describe("what the gateway does not carry", () => {
  test.each([
    [{ n: 2 }, "n must be 1: this gateway returns one choice"],
    [{ logprobs: true }, "logprobs must be false: log probabilities are not supported"],
    [{ top_logprobs: 3 }, "top_logprobs must be absent: log probabilities are not supported"],
    [{ frequency_penalty: 0.5 }, "frequency_penalty must be 0: it is not supported"],
    [{ presence_penalty: -1 }, "presence_penalty must be 0: it is not supported"],
    [{ logit_bias: { "50256": -100 } }, "logit_bias must be empty: it is not supported"],
    [{ audio: { format: "wav", voice: "alloy" } }, "audio is not supported: audio is not carried"],
    [{ modalities: ["text", "audio"] }, 'modalities must be ["text"]: audio is not carried'],
    [{ prediction: { type: "content", content: "x" } }, "prediction is not supported"],
    [{ web_search_options: {} }, "web_search_options is not supported"],
    [{ verbosity: "low" }, "verbosity is not supported"],
  ])("%o is refused: %s", (body, says) => {
    expect(refusal(body)).toBe(says);
  });

  test("their defaults, and hints about storage, billing and caching, are accepted", () => {
    const { input } = parse({
      model: MODEL,
      messages: hello,
      n: 1,
      logprobs: false,
      frequency_penalty: 0,
      presence_penalty: 0,
      logit_bias: {},
      modalities: ["text"],
      store: false,
      metadata: { app: "test" },
      service_tier: "auto",
      prompt_cache_key: "k",
      safety_identifier: "s",
      stream_options: { include_usage: true, include_obfuscation: false },
    });
    expect(input.messages).toEqual(hello);
  });
});

test("stream and include_usage are read beside the input", () => {
  expect(
    parse({ model: MODEL, messages: hello, stream: true, stream_options: { include_usage: true } }),
  ).toMatchObject({ stream: true, includeUsage: true });
  expect(parse({ model: MODEL, messages: hello })).toMatchObject({ stream: false, includeUsage: false });
});
