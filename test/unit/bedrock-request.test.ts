import { describe, expect, it } from "vitest";
import { converseBody } from "../../src/providers/bedrock/request.js";
import type { ChatRequest } from "../../src/providers/provider.js";
import { chat, user } from "./bedrock-wire-harness.js";

const body = (fields: Partial<ChatRequest>) => JSON.parse(converseBody(chat(fields), "bedrock-wire"));
const refusal = (fields: Partial<ChatRequest>) => {
  try {
    converseBody(chat(fields), "bedrock-wire");
  } catch (error) {
    return error;
  }
  throw new Error("not refused");
};
const TOOL = { name: "t", parameters: { type: "object" } };
const PNG = "iVBORw0KGgo=";

describe("converseBody", () => {
  it("writes the documented shape, unset fields left out", () => {
    expect(body({ system: "Be brief", maxTokens: 9, temperature: 0.5, topP: 0.9, stop: ["END"] })).toEqual({
      messages: [{ role: "user", content: [{ text: "Say hello" }] }],
      system: [{ text: "Be brief" }],
      inferenceConfig: { maxTokens: 9, temperature: 0.5, topP: 0.9, stopSequences: ["END"] },
    });
  });

  it("sends images as base64 bytes with their format, from inline data or a data: URL", () => {
    const content = body({
      messages: [
        {
          role: "user",
          content: [
            { type: "image", image: { mediaType: "image/png", base64: PNG } },
            { type: "image", image: { url: "data:image/jpeg;base64,/9j/4A==" } },
          ],
        },
      ],
    }).messages[0].content;
    expect(content).toEqual([
      { image: { format: "png", source: { bytes: PNG } } },
      { image: { format: "jpeg", source: { bytes: "/9j/4A==" } } },
    ]);
  });

  it("writes tools, choices, structured output, effort, thinking and user as Converse has them", () => {
    expect(
      body({
        tools: [{ ...TOOL, description: "d", strict: true }],
        toolChoice: { type: "required" },
        responseFormat: { type: "json_schema", name: "n", schema: { type: "object" } },
        reasoningEffort: "high",
        reasoningBudgetTokens: 2048,
        user: "user-42@example.com",
      }),
    ).toMatchObject({
      toolConfig: {
        tools: [
          {
            toolSpec: {
              name: "t",
              description: "d",
              inputSchema: { json: { type: "object" } },
              strict: true,
            },
          },
        ],
        toolChoice: { any: {} },
      },
      outputConfig: {
        effort: "high",
        textFormat: {
          type: "json_schema",
          structure: { jsonSchema: { schema: '{"type":"object"}', name: "n" } },
        },
      },
      additionalModelRequestFields: { thinking: { type: "enabled", budget_tokens: 2048 } },
      requestMetadata: { user: "user-42@example.com" },
    });
  });

  it("merges tool results and the user's next words into one user turn; signed reasoning goes back", () => {
    const call = { id: "tooluse_1", name: "t", arguments: '{"a":1}' };
    const messages = body({
      tools: [TOOL],
      messages: [
        user("Go"),
        {
          role: "assistant",
          content: [],
          toolCalls: [call],
          reasoning: [{ text: "hm", signature: "sig" }, { text: "unsigned" }],
        },
        { role: "tool", toolCallId: "tooluse_1", content: [{ type: "text", text: "boom" }], isError: true },
        user("And?"),
      ],
    }).messages;
    expect(messages).toEqual([
      { role: "user", content: [{ text: "Go" }] },
      {
        role: "assistant",
        content: [
          { reasoningContent: { reasoningText: { text: "hm", signature: "sig" } } },
          { toolUse: { toolUseId: "tooluse_1", name: "t", input: { a: 1 } } },
        ],
      },
      {
        role: "user",
        content: [
          { toolResult: { toolUseId: "tooluse_1", content: [{ text: "boom" }], status: "error" } },
          { text: "And?" },
        ],
      },
    ]);
  });

  it("leaves out a turn of empty text, which Converse refuses", () => {
    const messages = body({
      messages: [
        user("Go"),
        { role: "assistant", content: [{ type: "text", text: "" }], toolCalls: [], reasoning: [] },
      ],
    }).messages;
    expect(messages).toEqual([{ role: "user", content: [{ text: "Go" }] }]);
  });

  it("tool_choice none with no tool calls yet leaves the tools out", () => {
    expect(body({ tools: [TOOL], toolChoice: { type: "none" } }).toolConfig).toBeUndefined();
  });

  it.each([
    ["seed", { seed: 1 }, /seed is not supported by provider bedrock-wire/],
    ["parallel_tool_calls false", { parallelToolCalls: false }, /parallel_tool_calls false/],
    ["effort minimal", { reasoningEffort: "minimal" as const }, /reasoning_effort minimal/],
    ["json_object", { responseFormat: { type: "json_object" as const } }, /json_object/],
    [
      "an image by https URL",
      {
        messages: [
          { role: "user" as const, content: [{ type: "image" as const, image: { url: "https://x/y.png" } }] },
        ],
      },
      /an image by URL \(messages\[0\]\.content\[0\]\)/,
    ],
    [
      "a TIFF",
      {
        messages: [
          {
            role: "user" as const,
            content: [{ type: "image" as const, image: { mediaType: "image/tiff", base64: "AA==" } }],
          },
        ],
      },
      /image\/tiff/,
    ],
    [
      "tool_choice none after tool calls",
      {
        tools: [TOOL],
        toolChoice: { type: "none" as const },
        messages: [user("a"), { role: "tool" as const, toolCallId: "x", content: [], isError: false }],
      },
      /tool_choice none/,
    ],
    ["a user id Bedrock's metadata cannot hold", { user: "a|b" }, /^user must be at most 256/],
    [
      "tool calls in the conversation with no tools offered",
      { messages: [user("a"), { role: "tool" as const, toolCallId: "x", content: [], isError: false }] },
      /tool calls in the conversation with no tools offered/,
    ],
  ])("refuses %s as invalid_argument, naming it", (_, fields, message) => {
    const error = refusal(fields as Partial<ChatRequest>);
    expect(error).toMatchObject({ kind: "invalid_argument" });
    expect((error as Error).message).toMatch(message);
  });
});
