import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { ChatResult, StreamFinish } from "../../src/providers/provider.js";
import { DEFAULT_FUNCTION_CALL, DEFAULT_GEMINI_THOUGHT } from "../support/fakes/gemini-format.js";
import { countWords, DEFAULT_TEXT, tokenize } from "../support/fakes/text.js";
import { chat, eventsOf, geminiOverFake } from "./gemini-wire-harness.js";

const { fake, provider } = geminiOverFake();
const generate = (fields: Parameters<typeof chat>[0] = {}) =>
  provider().generate(chat(fields), new AbortController().signal);
const INPUT = countWords("Say hello");
const TEXT_TOKENS = tokenize(DEFAULT_TEXT).length;
const CITY = {
  type: "object",
  properties: { city: { type: "string" }, population: { type: "integer" } },
  required: ["city", "population"],
  additionalProperties: false,
};

/** What a unary result and a stream's finish must agree on; each answer has its own ids and signatures. */
const contentOf = (r: ChatResult | StreamFinish) => ({
  finishReason: r.finishReason,
  usage: r.usage,
  nonTextContent: r.nonTextContent,
  toolCalls: r.toolCalls.map((call) => ({ ...call, id: "<id>" })),
  reasoning: r.reasoning.map((block) => (block.signature ? { ...block, signature: "<signature>" } : block)),
  refusal: r.refusal,
});

/** The same answer unary and streamed: the stream's text and finish equal the unary result. */
async function bothWays(script: object, fields: Parameters<typeof chat>[0] = {}) {
  fake().respondWith({ kind: "answer", ...script }, { kind: "answer", ...script });
  const unary = await generate(fields);
  const { events, finish, error } = await eventsOf(provider(), chat(fields));
  expect(error).toBeUndefined();
  const text = events.map((e) => (e.type === "delta" ? e.text : "")).join("");
  if (!finish) throw new Error("no finish");
  expect({ text, ...contentOf(finish) }).toEqual({ text: unary.text, ...contentOf(unary) });
  return unary;
}

describe("a Gemini answer, unary and streamed alike", () => {
  it("is its text, STOP, and usage from usageMetadata with the cached prompt tokens", async () => {
    const result = await bothWays({ cachedTokens: 5 });
    expect(result).toMatchObject({
      id: expect.stringMatching(/^\w{22}$/),
      text: DEFAULT_TEXT,
      finishReason: "stop",
      usage: { inputTokens: INPUT + 5, outputTokens: TEXT_TOKENS, cachedInputTokens: 5 },
      toolCalls: [],
      reasoning: [],
      nonTextContent: [],
      refusal: "",
    });
  });

  it("carries thoughts as reasoning and the thought signature as a block of its own; thoughts count as output", async () => {
    const result = await bothWays({ flavour: "thinking" }, { reasoningBudgetTokens: 1024 });
    const thoughts = tokenize(DEFAULT_GEMINI_THOUGHT).length;
    expect(result.reasoning).toEqual([
      { text: DEFAULT_GEMINI_THOUGHT },
      { text: "", signature: expect.stringMatching(/^[A-Za-z0-9+/]{64}$/) },
    ]);
    expect(result.usage).toEqual({
      inputTokens: INPUT,
      outputTokens: TEXT_TOKENS + thoughts,
      reasoningTokens: thoughts,
    });
    expect(result.text).toBe(DEFAULT_TEXT);
  });

  it("reads function calls as tool calls, finish tool_calls, ids made where Gemini gives none", async () => {
    const result = await bothWays({ flavour: "function-call" });
    expect(result.finishReason).toBe("tool_calls");
    expect(result.toolCalls).toEqual([
      {
        id: expect.stringMatching(/^call_[\w-]{16}$/),
        name: DEFAULT_FUNCTION_CALL.name,
        arguments: '{"city":"Paris"}',
      },
    ]);
    expect(result.reasoning).toEqual([{ text: "", signature: expect.any(String) }]);
  });

  it("keeps Gemini's own call ids, and calls every declared function when tool_choice requires one", async () => {
    const tools = [
      { name: "lookup_city", parameters: CITY },
      { name: "get_time", parameters: { type: "object", properties: {} } },
    ];
    fake().respondWith({ kind: "answer", functionCallIds: true });
    const result = await generate({ tools, toolChoice: { type: "required" } });
    expect(result.toolCalls.map((c) => c.name)).toEqual(["lookup_city", "get_time"]);
    expect(result.toolCalls.every((c) => /^[a-z0-9]{8}$/.test(c.id))).toBe(true);
    expect(JSON.parse(result.toolCalls[0]?.arguments ?? "")).toEqual(
      z
        .fromJSONSchema(CITY as Parameters<typeof z.fromJSONSchema>[0])
        .parse(JSON.parse(result.toolCalls[0]?.arguments ?? "")),
    );
    expect(result.finishReason).toBe("tool_calls");
  });

  it("answers a JSON schema with JSON valid against it", async () => {
    const result = await generate({ responseFormat: { type: "json_schema", name: "city", schema: CITY } });
    const value = z
      .fromJSONSchema(CITY as Parameters<typeof z.fromJSONSchema>[0])
      .parse(JSON.parse(result.text));
    expect(value).toMatchObject({ city: expect.any(String) });
  });

  it.each([
    ["MAX_TOKENS", "length"],
    ["SAFETY", "content_filter"],
    ["RECITATION", "content_filter"],
    ["BLOCKLIST", "content_filter"],
    ["PROHIBITED_CONTENT", "content_filter"],
    ["SPII", "content_filter"],
    ["LANGUAGE", "content_filter"],
    ["MALFORMED_FUNCTION_CALL", "unspecified"],
    ["UNEXPECTED_TOOL_CALL", "unspecified"],
    ["OTHER", "unspecified"],
    ["SOMETHING_NEW", "unspecified"],
  ])("maps finishReason %s to %s", async (finishReason, expected) => {
    const result = await bothWays({ finishReason });
    expect(result.finishReason).toBe(expected);
  });

  it("stops at maxOutputTokens with MAX_TOKENS, read as length", async () => {
    const result = await bothWays({}, { maxTokens: 2 });
    expect(result).toMatchObject({ text: "Hello from", finishReason: "length" });
  });

  it("reads a candidate stopped by SAFETY: the text so far, content_filter", async () => {
    fake().respondWith({ kind: "answer", flavour: "safety" });
    expect(await generate()).toMatchObject({ text: "", finishReason: "content_filter" });
    fake().respondWith({ kind: "answer", flavour: "safety" });
    const { events, finish } = await eventsOf(provider());
    expect(events.filter((e) => e.type === "delta").length).toBeGreaterThan(0);
    expect(finish?.finishReason).toBe("content_filter");
  });

  it.each(["SAFETY", "PROHIBITED_CONTENT", "OTHER"])(
    "reads a prompt blocked for %s (promptFeedback, no candidate) as content_filter with the prompt's usage",
    async (blockReason) => {
      const result = await bothWays({ flavour: "blocked-prompt", blockReason });
      expect(result).toMatchObject({
        text: "",
        finishReason: "content_filter",
        usage: { inputTokens: INPUT, outputTokens: 0 },
      });
    },
  );

  it("refuses an answer with neither a candidate nor a blocked prompt as UPSTREAM_MALFORMED", async () => {
    fake().respondWith({ kind: "error", status: 200, body: { usageMetadata: { promptTokenCount: 1 } } });
    const error = await generate().catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: "unavailable", reason: "UPSTREAM_MALFORMED" });
  });
});
