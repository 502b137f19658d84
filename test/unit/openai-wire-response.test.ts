import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { ToolDefinition } from "../../src/providers/provider.js";
import { ask, openAIOverFake, request } from "./openai-wire-harness.js";

const { fake, provider } = openAIOverFake();
const signal = () => new AbortController().signal;

const WEATHER: ToolDefinition = {
  name: "get_weather",
  parameters: {
    type: "object",
    properties: { city: { type: "string" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } },
    required: ["city", "unit"],
  },
};
const TIME: ToolDefinition = {
  name: "get_time",
  parameters: { type: "object", properties: { utc: { type: "boolean" } }, required: ["utc"] },
};

/** A whole chat.completion, sent as it is. */
const rawCompletion = (message: object, usage: object = { prompt_tokens: 3, completion_tokens: 2 }) => ({
  kind: "raw" as const,
  headers: { "content-type": "application/json" },
  chunks: [
    JSON.stringify({
      id: "chatcmpl-raw",
      object: "chat.completion",
      created: 1,
      model: "m",
      choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: "stop" }],
      usage,
    }),
  ],
});

describe("a completion's content, read unary", () => {
  it("tool calls to the request's tools, in order, with their ids and arguments as sent", async () => {
    fake().respondWith({ kind: "answer", flavour: "tool-calls" });
    const result = await provider().generate(request({ tools: [WEATHER, TIME] }), signal());
    expect(result).toMatchObject({ text: "", finishReason: "tool_calls", nonTextContent: [], refusal: "" });
    expect(result.toolCalls.map(({ name, arguments: args }) => [name, args])).toEqual([
      ["get_weather", '{"city":"","unit":"celsius"}'],
      ["get_time", '{"utc":false}'],
    ]);
    expect(result.toolCalls.every((call) => /^call_\w+$/.test(call.id))).toBe(true);
  });

  it("one call to the tool tool_choice names, or only the first when calls may not be parallel", async () => {
    fake().respondWith({ kind: "answer", flavour: "tool-calls" }, { kind: "answer", flavour: "tool-calls" });
    const named = await provider().generate(
      request({ tools: [WEATHER, TIME], toolChoice: { type: "tool", name: "get_time" } }),
      signal(),
    );
    const single = await provider().generate(
      request({ tools: [WEATHER, TIME], parallelToolCalls: false }),
      signal(),
    );
    expect(named.toolCalls.map((call) => call.name)).toEqual(["get_time"]);
    expect(single.toolCalls.map((call) => call.name)).toEqual(["get_weather"]);
  });

  it("arguments exactly as the model wrote them, whitespace and escapes kept", async () => {
    const args = '{ "q" : "K\\u00f6ln\\n",\n  "n": 1.50 }';
    fake().respondWith(
      rawCompletion({
        content: null,
        tool_calls: [{ id: "call_raw", type: "function", function: { name: "search", arguments: args } }],
      }),
    );
    const result = await provider().generate(request(), signal());
    expect(result.toolCalls).toEqual([{ id: "call_raw", name: "search", arguments: args }]);
  });

  it("a tool call without its id is the upstream's fault", async () => {
    fake().respondWith(
      rawCompletion({ tool_calls: [{ type: "function", function: { name: "f", arguments: "{}" } }] }),
    );
    const error = await provider()
      .generate(request(), signal())
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: "unavailable", reason: "UPSTREAM_MALFORMED" });
  });

  it("a refusal in its own field, the text empty", async () => {
    fake().respondWith({ kind: "answer", flavour: "refusal", text: "I can't help with that." });
    const result = await provider().generate(request(), signal());
    expect(result).toMatchObject({ text: "", refusal: "I can't help with that.", nonTextContent: [] });
  });

  it("reasoning_content as one reasoning block, and the cached and reasoning token counts", async () => {
    fake().respondWith({
      kind: "answer",
      text: "Four.",
      reasoning: "Two plus two is four.",
      cachedTokens: 1,
    });
    const result = await provider().generate(request({ messages: [ask("What is two plus two?")] }), signal());
    expect(result).toMatchObject({ text: "Four.", reasoning: [{ text: "Two plus two is four." }] });
    expect(result.reasoning[0]).not.toHaveProperty("signature");
    expect(result.usage).toEqual({
      inputTokens: 5,
      outputTokens: 6,
      cachedInputTokens: 1,
      reasoningTokens: 5,
    });
  });

  it("OpenRouter's reasoning field too; a server that reports no details leaves the counts out", async () => {
    fake().respondWith(rawCompletion({ content: "4", reasoning: "2+2" }));
    const result = await provider().generate(request(), signal());
    expect(result.reasoning).toEqual([{ text: "2+2" }]);
    expect(result.usage).toEqual({ inputTokens: 3, outputTokens: 2 });
  });
});

describe("structured output", () => {
  const schema = {
    type: "object",
    properties: {
      city: { type: "string" },
      population: { type: "integer", minimum: 1 },
      coastal: { type: "boolean" },
      districts: {
        type: "array",
        items: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
      },
      climate: { type: "string", enum: ["oceanic", "continental"] },
      area: { type: "number" },
    },
    required: ["city", "population", "coastal", "districts", "climate", "area"],
    additionalProperties: false,
  };
  const format = { type: "json_schema" as const, name: "city", schema, strict: true };

  it("the text of a json_schema answer parses and validates against the schema, unary and streamed", async () => {
    const validator = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
    const unary = await provider().generate(request({ responseFormat: format }), signal());
    expect(validator.safeParse(JSON.parse(unary.text)).success).toBe(true);
    let streamed = "";
    for await (const event of provider().stream(request({ responseFormat: format }), signal()))
      if (event.type === "delta") streamed += event.text;
    expect(validator.safeParse(JSON.parse(streamed)).success).toBe(true);
    expect(validator.safeParse({ ...JSON.parse(streamed), population: 0 }).success).toBe(false);
  });
});
