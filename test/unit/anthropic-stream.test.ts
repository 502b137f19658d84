import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors/gateway-error.js";
import { readMessageStream } from "../../src/providers/anthropic/stream.js";
import type { ChatStreamEvent, WireStreamEvent } from "../../src/providers/provider.js";
import {
  type AnthropicAnswer,
  type MessagesRequest,
  messageEvents,
  planAnthropic,
} from "../support/fakes/anthropic-format.js";
import { DEFAULT_TEXT, DEFAULT_THINKING } from "../support/fakes/index.js";
import { sse as event } from "../support/fakes/text.js";
import { anthropicOverFake, chat, eventsOf } from "./anthropic-wire-harness.js";

const { fake, provider } = anthropicOverFake();

const SCHEMA = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
const REDACTED = "EmwKAhgBEgy3va3pzix/LafPsn4a";
/** The fake's answer to it: thinking, redacted thinking, text, then two tool_use blocks. */
const REQUEST: MessagesRequest = {
  model: "claude-x",
  max_tokens: 2048,
  messages: [{ role: "user", content: "Weather and time?" }],
  thinking: { type: "enabled", budget_tokens: 1024 },
  tools: [
    { name: "get_weather", input_schema: SCHEMA },
    { name: "get_time", input_schema: { type: "object", properties: {} } },
  ],
};
const ANSWER: Partial<AnthropicAnswer> = { flavour: "tool-use", redactedThinking: REDACTED };

/** One planned answer's SSE events: the same ids and signature however it is cut. */
const plan = planAnthropic(REQUEST, ANSWER);
const EVENTS = messageEvents(plan, ANSWER);
const BYTES = Buffer.from(EVENTS.join(""), "utf8");
const [weather, time] = plan.blocks.flatMap((b) => (b.type === "tool_use" ? [b] : []));
const thinking = plan.blocks.find((b) => b.type === "thinking");

const raw = (chunks: (string | Uint8Array)[]) =>
  ({ kind: "raw", headers: { "content-type": "text/event-stream" }, chunks }) as const;

/** What the stream must come out as, whole. */
const WHOLE = {
  text: DEFAULT_TEXT,
  toolCalls: [
    { id: weather?.id, name: "get_weather", arguments: '{"city":""}' },
    { id: time?.id, name: "get_time", arguments: "{}" },
  ],
  reasoning: [
    { text: DEFAULT_THINKING, signature: thinking?.type === "thinking" ? thinking.signature : "" },
    { text: "", redactedData: REDACTED },
  ],
  finishReason: "tool_calls",
};

/** A provider stream's text, pieces and finish, in the shape of WHOLE. */
function summary(events: ChatStreamEvent[]) {
  const finish = events.at(-1);
  if (finish?.type !== "finish") throw new Error(`the stream ended with ${finish?.type}, not a finish`);
  return {
    text: events.map((e) => (e.type === "delta" ? e.text : "")).join(""),
    toolCalls: finish.toolCalls,
    reasoning: finish.reasoning,
    finishReason: finish.finishReason,
  };
}

/** The decoder alone over `chunks`. */
async function decoded(chunks: Uint8Array[]): Promise<WireStreamEvent[]> {
  const events: WireStreamEvent[] = [];
  async function* body() {
    yield* chunks;
  }
  for await (const event of readMessageStream(body(), "anthropic-wire")) events.push(event);
  return events;
}

describe("a stream with thinking, redacted thinking and two parallel tool_use blocks", () => {
  it("comes out whole with every byte its own piece, numbered per kind from 0", async () => {
    fake().respondWith({ ...raw(EVENTS), chunkBytes: 1 });
    const { events, error } = await eventsOf(provider(), chat());
    expect(error).toBeUndefined();
    expect(summary(events)).toEqual(WHOLE);
    const pieces = events.filter((e) => e.type === "tool_call_delta" || e.type === "reasoning_delta");
    // Anthropic's block indexes 0..4 (thinking, redacted, text, tool, tool) become 0, 1 per kind.
    expect(pieces.filter((e) => "id" in e && e.id !== undefined)).toEqual([
      { type: "tool_call_delta", index: 0, id: weather?.id, name: "get_weather", arguments: "" },
      { type: "tool_call_delta", index: 1, id: time?.id, name: "get_time", arguments: "" },
    ]);
    expect(new Set(pieces.map((e) => `${e.type}:${e.index}`))).toEqual(
      new Set(["reasoning_delta:0", "reasoning_delta:1", "tool_call_delta:0", "tool_call_delta:1"]),
    );
    expect(events.at(-1)).toMatchObject({
      nonTextContent: [],
      usage: { reasoningTokens: expect.any(Number) },
    });
  });

  it("is what the fake answers the provider's own request with tools and thinking", async () => {
    fake().respondWith({ kind: "stream", ...ANSWER, chunkBytes: 5 });
    const tools = (REQUEST.tools ?? []).map((t) => ({ name: t.name, parameters: t.input_schema }));
    const { events, error } = await eventsOf(
      provider(),
      chat({ tools, reasoningBudgetTokens: 1024, maxTokens: 2048 }),
    );
    expect(error).toBeUndefined();
    // Fresh ids and signature: the same answer otherwise.
    const same = {
      ...WHOLE,
      toolCalls: WHOLE.toolCalls.map((call) => ({ ...call, id: expect.stringMatching(/^toolu_01/) })),
      reasoning: [{ ...WHOLE.reasoning[0], signature: expect.stringMatching(/^Eq/) }, WHOLE.reasoning[1]],
    };
    expect(summary(events)).toEqual(same);
  });

  it("decodes the same split in two at every byte", async () => {
    const whole = await decoded([BYTES]);
    for (let at = 0; at <= BYTES.length; at++) {
      expect(await decoded([BYTES.subarray(0, at), BYTES.subarray(at)])).toEqual(whole);
    }
  });

  it("comes out whole through the provider however its bytes are cut", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: BYTES.length - 1 }), { maxLength: 12 }),
        async (cuts) => {
          const at = [0, ...cuts.sort((a, b) => a - b), BYTES.length];
          fake().respondWith(raw(at.slice(1).map((end, i) => BYTES.subarray(at[i], end))));
          const { events, error } = await eventsOf(provider(), chat());
          expect(error).toBeUndefined();
          expect(summary(events)).toEqual(WHOLE);
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe("a stream cut inside a tool_use block", () => {
  /** Up to and with the second tool_use block's second input_json_delta. */
  const inside =
    EVENTS.findIndex((e, i) => i > 0 && e.includes('"index":4') && e.includes("input_json_delta")) + 2;

  it("ends with UPSTREAM_STREAM_CUT, never a finish, when the body just ends", async () => {
    fake().respondWith(raw(EVENTS.slice(0, inside)));
    const { events, error } = await eventsOf(provider(), chat());
    expect(events.some((e) => e.type === "tool_call_delta" && e.index === 1)).toBe(true);
    expect(events.some((e) => e.type === "finish")).toBe(false);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ kind: "unavailable", reason: "UPSTREAM_STREAM_CUT" });
  });

  it("ends with an error, never a finish, when the connection breaks there", async () => {
    // Paced, so that what came before the break is not lost with the connection.
    fake().respondWith({ ...raw(EVENTS), resetAfterEvents: inside, eventDelayMs: 2 });
    const { events, error } = await eventsOf(provider(), chat());
    expect(events.some((e) => e.type === "tool_call_delta" && e.index === 1)).toBe(true);
    expect(events.some((e) => e.type === "finish")).toBe(false);
    expect(error).toMatchObject({ kind: "unavailable" });
  });
});

describe("a malformed stream", () => {
  it("refuses an input_json_delta for a block that is no tool_use", async () => {
    const text = EVENTS.findIndex((e) => e.includes('"type":"text_delta"'));
    const [event = ""] = EVENTS.slice(text, text + 1);
    const bad = event.replace(/"delta":\{.*\}\}/, '"delta":{"type":"input_json_delta","partial_json":"{"}}');
    fake().respondWith(raw([...EVENTS.slice(0, text), bad, ...EVENTS.slice(text + 1)]));
    const { events, error } = await eventsOf(provider(), chat());
    expect(events.some((e) => e.type === "finish")).toBe(false);
    expect(error).toMatchObject({ kind: "unavailable", reason: "UPSTREAM_MALFORMED" });
    expect((error as Error).message).toMatch(
      /input_json_delta for content block 2, which is no tool_call block/,
    );
  });
});

describe("Anthropic's own tools in a stream", () => {
  it("are named as non-text content, their input deltas passed over", async () => {
    const sse = (data: { type: string; [key: string]: unknown }) => event(data, data.type);
    const server = { type: "server_tool_use", id: "srvtoolu_01", name: "web_search", input: {} };
    fake().respondWith(
      raw([
        sse({
          type: "message_start",
          message: { id: "msg_01W", usage: { input_tokens: 3, output_tokens: 1 } },
        }),
        sse({ type: "content_block_start", index: 0, content_block: server }),
        sse({
          type: "content_block_delta",
          index: 0,
          delta: { type: "input_json_delta", partial_json: '{"q":1}' },
        }),
        sse({ type: "content_block_stop", index: 0 }),
        sse({ type: "content_block_start", index: 1, content_block: { type: "text", text: "" } }),
        sse({ type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "Found." } }),
        sse({ type: "content_block_stop", index: 1 }),
        sse({ type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 5 } }),
        sse({ type: "message_stop" }),
      ]),
    );
    const { events, error } = await eventsOf(provider(), chat());
    expect(error).toBeUndefined();
    expect(events.slice(1)).toEqual([
      { type: "delta", text: "Found." },
      {
        type: "finish",
        finishReason: "stop",
        usage: { inputTokens: 3, outputTokens: 5 },
        nonTextContent: ["tool_calls"],
        toolCalls: [],
        reasoning: [],
        refusal: "",
      },
    ]);
  });
});
