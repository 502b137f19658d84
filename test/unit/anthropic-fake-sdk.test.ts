import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_REFUSAL } from "../support/fakes/anthropic-format.js";
import {
  DEFAULT_TEXT,
  type FakeAnthropic,
  startFakeAnthropic,
  trustingAgent,
  trustingFetch,
} from "../support/fakes/index.js";

const KEY = "sk-ant-sdk-0123456789";
const SCHEMA = {
  type: "object" as const,
  properties: { city: { type: "string" }, days: { type: "integer" } },
  required: ["city", "days"],
  additionalProperties: false,
};

/**
 * The fake's answers to tools, thinking, structured output and refusals, read by the official
 * SDK: its streamed final message must equal the unary one, block for block.
 */
let fake: FakeAnthropic;
let client: Anthropic;
let agent: ReturnType<typeof trustingAgent>;

beforeAll(async () => {
  fake = await startFakeAnthropic({ apiKey: KEY });
  agent = trustingAgent(fake);
  client = new Anthropic({ apiKey: KEY, baseURL: fake.origin, maxRetries: 0, fetch: trustingFetch(agent) });
});
afterAll(async () => {
  await agent.close();
  await fake.close();
});

const params = {
  model: "claude-fake-1",
  max_tokens: 2048,
  messages: [{ role: "user" as const, content: "Weather?" }],
};
const TOOLS = [
  { name: "get_weather", input_schema: SCHEMA },
  { name: "get_time", input_schema: { type: "object" as const, properties: {} } },
];

describe("the fake Anthropic, through @anthropic-ai/sdk", () => {
  it("thinks when asked, then calls every offered tool in parallel with inputs valid for their schemas", async () => {
    const request = { ...params, tools: TOOLS, thinking: { type: "enabled" as const, budget_tokens: 1024 } };
    fake.respondWith({ kind: "answer", flavour: "tool-use", redactedThinking: "EmwK" });
    const unary = await client.messages.create(request);
    fake.respondWith({ kind: "answer", flavour: "tool-use", redactedThinking: "EmwK" });
    const streamed = await client.messages.stream(request).finalMessage();
    for (const message of [unary, streamed]) {
      expect(message.stop_reason).toBe("tool_use");
      expect(message.content.map((block) => block.type)).toEqual([
        "thinking",
        "redacted_thinking",
        "text",
        "tool_use",
        "tool_use",
      ]);
      expect(message.content.slice(3)).toMatchObject([
        { name: "get_weather", input: { city: "", days: 0 } },
        { name: "get_time", input: {} },
      ]);
    }
  });

  it("calls only the named tool, and only one when parallel use is disabled", async () => {
    const named = await client.messages.create({
      ...params,
      tools: TOOLS,
      tool_choice: { type: "tool", name: "get_time" },
    });
    const serial = await client.messages.create({
      ...params,
      tools: TOOLS,
      tool_choice: { type: "any", disable_parallel_tool_use: true },
    });
    const none = await client.messages.create({ ...params, tools: TOOLS, tool_choice: { type: "none" } });
    expect(named.content.filter((b) => b.type === "tool_use").map((b) => b.name)).toEqual(["get_time"]);
    expect(serial.content.filter((b) => b.type === "tool_use").map((b) => b.name)).toEqual(["get_weather"]);
    expect(none).toMatchObject({ stop_reason: "end_turn", content: [{ type: "text", text: DEFAULT_TEXT }] });
  });

  it("answers output_config.format with JSON valid against the schema", async () => {
    const request = {
      ...params,
      output_config: { format: { type: "json_schema" as const, schema: SCHEMA } },
    };
    const streamed = await client.messages.stream(request).finalMessage();
    expect(streamed.content).toEqual([{ type: "text", text: '{"city":"","days":0}' }]);
  });

  it("refuses with stop_details, streamed like the API", async () => {
    fake.respondWith({ kind: "stream", flavour: "refusal", text: "I" });
    const message = await client.messages.stream(params).finalMessage();
    expect(message).toMatchObject({
      stop_reason: "refusal",
      stop_details: { type: "refusal", category: null, explanation: DEFAULT_REFUSAL },
      content: [{ type: "text", text: "I" }],
    });
  });

  it("refuses a tool_use left unanswered, and thinking with a forced tool", async () => {
    const unanswered = await client.messages
      .create({
        ...params,
        messages: [
          ...params.messages,
          {
            role: "assistant",
            content: [{ type: "tool_use", id: "toolu_01X", name: "get_time", input: {} }],
          },
          { role: "user", content: "Never mind" },
        ],
      })
      .catch((error: unknown) => error);
    expect(unanswered).toBeInstanceOf(Anthropic.BadRequestError);
    expect((unanswered as Error).message).toContain("`tool_use` ids were found without `tool_result` blocks");
    const forced = await client.messages
      .create({
        ...params,
        tools: TOOLS,
        tool_choice: { type: "any" },
        thinking: { type: "enabled", budget_tokens: 1024 },
      })
      .catch((error: unknown) => error);
    expect(forced).toBeInstanceOf(Anthropic.BadRequestError);
  });
});
