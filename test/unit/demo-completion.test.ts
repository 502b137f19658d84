import { describe, expect, test } from "vitest";
import { type DemoChatRequest, planCompletion } from "../../src/demo/chat-completion-body.js";
import { schemaInstance } from "../../src/demo/json-schema-instance.js";

// The demo model answers agent requests as a real one would in shape: calls to the tools it is
// offered, with arguments that fit their schemas, and JSON that fits a requested response format.
const CITY = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
const tool = (name: string, parameters: unknown = CITY) => ({
  type: "function" as const,
  function: { name, parameters },
});
const ask = (fields: Partial<DemoChatRequest>): DemoChatRequest => ({
  model: "demo",
  messages: [{ role: "user", content: "Weather in Oslo?" }],
  ...fields,
});

describe("tools", () => {
  test("every offered tool is called at once, its strings the prompt's names", () => {
    const plan = planCompletion(ask({ tools: [tool("get_weather"), tool("get_time")] }), "chatcmpl-demo-1");
    expect(plan).toMatchObject({ finishReason: "tool_calls", tokens: [] });
    expect(plan.toolCalls.map((call) => [call.name, call.arguments])).toEqual([
      ["get_weather", '{"city":"Oslo"}'],
      ["get_time", '{"city":"Oslo"}'],
    ]);
    expect(new Set(plan.toolCalls.map((call) => call.id)).size).toBe(2);
  });

  test.each([
    ["parallel calls off", { parallel_tool_calls: false }, ["get_weather"]],
    ["a named tool", { tool_choice: { type: "function", function: { name: "get_time" } } }, ["get_time"]],
    ["tool_choice none", { tool_choice: "none" }, []],
  ] as const)("%s", (_, fields, called) => {
    const plan = planCompletion(ask({ tools: [tool("get_weather"), tool("get_time")], ...fields }), "c");
    expect(plan.toolCalls.map((call) => call.name)).toEqual(called);
  });

  test("once the tools have answered, it answers in text", () => {
    const messages = [
      { role: "user", content: "Weather in Oslo?" },
      { role: "assistant", content: null },
      { role: "tool", content: '{"celsius":3}' },
    ];
    const plan = planCompletion(ask({ messages, tools: [tool("get_weather")] }), "c");
    expect(plan.toolCalls).toEqual([]);
    expect(plan.tokens.length).toBeGreaterThan(0);
  });
});

test("a json_schema response format is answered with JSON that fits the schema, in its key order", () => {
  const schema = {
    type: "object",
    properties: {
      zone: { enum: ["north", "south"] },
      count: { type: "integer", minimum: 3 },
      tags: { type: "array", items: { type: "string" }, minItems: 2 },
      ok: { type: "boolean" },
      nested: { $ref: "#/$defs/note" },
      optional: { type: "string" },
    },
    required: ["zone", "count", "tags", "ok", "nested"],
    $defs: {
      note: {
        type: "object",
        properties: { note: { type: ["string", "null"], minLength: 3 } },
        required: ["note"],
      },
    },
  };
  const plan = planCompletion(
    ask({ response_format: { type: "json_schema", json_schema: { schema } } }),
    "c",
  );
  const value = JSON.parse(plan.tokens.join(""));
  expect(value).toEqual({
    zone: "north",
    count: 3,
    tags: ["Oslo", expect.any(String)],
    ok: false,
    nested: { note: expect.any(String) },
  });
  expect(Object.keys(value)).toEqual(["zone", "count", "tags", "ok", "nested"]);
  expect(value.nested.note.length).toBeGreaterThanOrEqual(3);
});

test("only required properties are filled; the first alternative is taken", () => {
  const words = () => "w";
  expect(
    schemaInstance(
      { type: "object", properties: { a: { type: "string" }, b: { type: "string" } }, required: ["b"] },
      words,
    ),
  ).toEqual({ b: "w" });
  expect(schemaInstance({ anyOf: [{ const: 7 }, { type: "string" }] }, words)).toBe(7);
});

describe("a schema the demo cannot fill is the caller's mistake, never a crash or a stall", () => {
  test.each([
    ["a $ref to itself", { $ref: "#/$defs/a", $defs: { a: { $ref: "#/$defs/a" } } }, /nests deeper than 32/],
    ["a $ref to the whole schema", { $ref: "#" }, /only local \$refs/],
    ["a remote $ref", { $ref: "https://example.com/s.json" }, /only local \$refs/],
    [
      "arrays that fan out",
      {
        type: "array",
        minItems: 1e6,
        items: {
          type: "array",
          minItems: 1e6,
          items: { type: "array", minItems: 1e6, items: { type: "array", minItems: 1e6 } },
        },
      },
      /more than 10000 values/,
    ],
  ])("%s", (_, schema, problem) => {
    expect(() => schemaInstance(schema)).toThrow(problem);
  });

  test("sizes are bounded, and nonsense sizes are none", () => {
    expect((schemaInstance({ type: "string", minLength: 1e9 }) as string).length).toBe(4096);
    expect(schemaInstance({ type: "array", minItems: -1, items: { type: "string" } })).toEqual([]);
  });

  test("a prompt of a million spaces is read word by word for its names", () => {
    const content = `Hi${" ".repeat(1_000_000)}Oslo`;
    const plan = planCompletion(ask({ messages: [{ role: "user", content }], tools: [tool("t")] }), "c");
    expect(plan.toolCalls[0]?.arguments).toBe('{"city":"Oslo"}');
  });
});
