import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { ChatRequest, ChatResult, StreamFinish } from "../../src/providers/provider.js";
import { DEFAULT_REFUSAL } from "../support/fakes/anthropic-format.js";
import {
  countWords,
  DEFAULT_TEXT,
  DEFAULT_THINKING,
  TOOL_INPUT_FRAGMENTS,
  tokenize,
} from "../support/fakes/index.js";
import { anthropicOverFake, chat, eventsOf, user } from "./anthropic-wire-harness.js";

const { fake, provider } = anthropicOverFake();
const generate = (request: ChatRequest) => provider().generate(request, new AbortController().signal);

/** A schema with every kind the fake's instances know, nested. */
const CITY = {
  type: "object",
  properties: {
    city: { type: "string" },
    population: { type: "integer" },
    area: { type: "number" },
    coastal: { type: "boolean" },
    climate: { type: "string", enum: ["mild", "harsh"] },
    districts: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        properties: { name: { type: "string" } },
        required: ["name"],
        additionalProperties: false,
      },
    },
    note: { type: "string" },
  },
  required: ["city", "population", "area", "coastal", "climate", "districts"],
  additionalProperties: false,
};
const TOOLS = [
  { name: "lookup_city", description: "Facts about a city", parameters: CITY },
  { name: "get_time", parameters: { type: "object", properties: {} } },
];
const REDACTED = "EmwKAhgBEgy3va3pzix/LafPsn4a";

/** The value parsed from `json`, checked against `schema` by zod's own reading of it. */
function validated(json: string, schema: object): unknown {
  return z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]).parse(JSON.parse(json));
}

/** A finish's content as a unary result carries it. */
const contentOf = (r: ChatResult | StreamFinish) => ({
  finishReason: r.finishReason,
  usage: r.usage,
  nonTextContent: r.nonTextContent,
  toolCalls: r.toolCalls,
  reasoning: r.reasoning,
  refusal: r.refusal,
});

describe("an answer with thinking, redacted thinking and two parallel tool calls", () => {
  const request = chat({ tools: TOOLS, maxTokens: 2048, reasoningBudgetTokens: 1024 });
  const answer = {
    kind: "answer",
    flavour: "tool-use",
    redactedThinking: REDACTED,
    cacheReadTokens: 7,
  } as const;

  it("is read whole: text, tool calls with their arguments as JSON text, reasoning with its signature, usage", async () => {
    fake().respondWith(answer);
    const result = await generate(request);
    const input = countWords("Say hello");
    const thinkingTokens = tokenize(DEFAULT_THINKING).length + 1;
    expect(result).toMatchObject({
      id: expect.stringMatching(/^msg_01/),
      text: DEFAULT_TEXT,
      finishReason: "tool_calls",
      nonTextContent: [],
      refusal: "",
      reasoning: [
        { text: DEFAULT_THINKING, signature: expect.stringMatching(/^Eq.{86}==$/) },
        { text: "", redactedData: REDACTED },
      ],
      usage: {
        inputTokens: input + 7,
        cachedInputTokens: 7,
        reasoningTokens: thinkingTokens,
        // The fake counts each input fragment as a token: "{}" makes only 2.
        outputTokens: thinkingTokens + tokenize(DEFAULT_TEXT).length + TOOL_INPUT_FRAGMENTS + 2,
      },
    });
    expect(result.toolCalls.map((call) => call.name)).toEqual(["lookup_city", "get_time"]);
    const [lookup, time] = result.toolCalls;
    expect(lookup?.id).toMatch(/^toolu_01/);
    expect(lookup?.id).not.toBe(time?.id);
    expect(validated(lookup?.arguments ?? "", CITY)).toMatchObject({ districts: [{ name: "" }] });
    expect(time?.arguments).toBe("{}");
  });

  it("streamed, ends with the same content assembled from its pieces", async () => {
    fake().respondWith(answer, answer);
    const unary = await generate(request);
    const { events, error } = await eventsOf(provider(), request);
    expect(error).toBeUndefined();
    const finish = events.at(-1) as StreamFinish;
    expect(finish.type).toBe("finish");
    // Ids and signatures are random per answer: compare the shape, then everything else.
    const sameShape = (r: ChatResult | StreamFinish) => ({
      ...contentOf(r),
      toolCalls: r.toolCalls.map(({ name, arguments: args }) => ({ name, args })),
      reasoning: r.reasoning.map(({ text, redactedData }) => ({ text, redactedData })),
    });
    expect(sameShape(finish)).toEqual(sameShape(unary));
    expect(finish.reasoning[0]?.signature).toMatch(/^Eq.{86}==$/);
  });
});

describe("structured output (output_config.format)", () => {
  const request = chat({ responseFormat: { type: "json_schema", name: "city", schema: CITY } });

  it("answers JSON text valid against the schema, unary and streaming", async () => {
    const unary = await generate(request);
    const { events, error } = await eventsOf(provider(), request);
    expect(error).toBeUndefined();
    const streamed = events.map((e) => (e.type === "delta" ? e.text : "")).join("");
    for (const text of [unary.text, streamed]) expect(validated(text, CITY)).toMatchObject({ city: "" });
    expect(unary.finishReason).toBe("stop");
    expect(fake().requests.at(-1)?.body).toMatchObject({
      output_config: { format: { type: "json_schema", schema: CITY } },
    });
  });
});

describe("a refusal", () => {
  it("finishes content_filter with Anthropic's explanation as the refusal, unary and streaming", async () => {
    const answer = { kind: "answer", flavour: "refusal", text: "I can" } as const;
    fake().respondWith(answer, answer);
    const unary = await generate(chat());
    const { events } = await eventsOf(provider(), chat());
    expect(unary).toMatchObject({ text: "I can", finishReason: "content_filter", refusal: DEFAULT_REFUSAL });
    expect(events.filter((e) => e.type === "refusal_delta")).toEqual([
      { type: "refusal_delta", text: DEFAULT_REFUSAL },
    ]);
    expect(events.at(-1)).toMatchObject({
      type: "finish",
      finishReason: "content_filter",
      refusal: DEFAULT_REFUSAL,
    });
  });
});

describe("what the contract does not carry", () => {
  it("names Anthropic's server-side tool use as non-text content", async () => {
    const message = {
      id: "msg_01S",
      type: "message",
      role: "assistant",
      content: [
        { type: "server_tool_use", id: "srvtoolu_01", name: "web_search", input: { query: "x" } },
        { type: "web_search_tool_result", tool_use_id: "srvtoolu_01", content: [] },
        { type: "text", text: "Found it." },
      ],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: 3, output_tokens: 4 },
    };
    fake().respondWith({
      kind: "raw",
      headers: { "content-type": "application/json" },
      chunks: [JSON.stringify(message)],
    });
    expect(await generate(chat({ messages: [user("Search")] }))).toMatchObject({
      text: "Found it.",
      toolCalls: [],
      nonTextContent: ["tool_calls"],
      usage: { inputTokens: 3, outputTokens: 4 },
    });
  });
});
