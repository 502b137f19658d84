import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readConverseStream } from "../../src/providers/bedrock/stream.js";
import type { WireStreamEvent } from "../../src/providers/provider.js";
import {
  type ConverseRequest,
  converseStreamFrames,
  DEFAULT_REASONING,
  exceptionFrame,
  planBedrock,
} from "../support/fakes/bedrock-format.js";
import { DEFAULT_TEXT } from "../support/fakes/index.js";

const REQUEST: ConverseRequest = {
  messages: [{ role: "user", content: [{ text: "Weather and time?" }] }],
  additionalModelRequestFields: { thinking: { type: "enabled" } },
  toolConfig: {
    tools: [
      {
        toolSpec: {
          name: "get_weather",
          inputSchema: {
            json: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
          },
        },
      },
      { toolSpec: { name: "get_time", inputSchema: { json: { type: "object" } } } },
    ],
  },
};
const plan = planBedrock(REQUEST, { flavour: "tool-use", redactedReasoning: "AAECAw==" });
const BYTES = Buffer.concat(converseStreamFrames(plan));
const [weather, time] = plan.blocks.flatMap((b) => (b.type === "toolUse" ? [b] : []));
const reasoning = plan.blocks.find((b) => b.type === "reasoning");

async function decoded(chunks: Uint8Array[]): Promise<{ events: WireStreamEvent[]; error: unknown }> {
  const events: WireStreamEvent[] = [];
  async function* body() {
    yield* chunks;
  }
  try {
    for await (const event of readConverseStream(body(), "bedrock-wire")) events.push(event);
    return { events, error: undefined };
  } catch (error) {
    return { events, error };
  }
}

/** Pieces as the StreamAssembler would put them together. */
function summary(events: WireStreamEvent[]) {
  const calls: Record<number, string> = {};
  const thoughts: Record<number, string> = {};
  for (const e of events) {
    if (e.type === "tool_call_delta") calls[e.index] = (calls[e.index] ?? `${e.id}/${e.name}:`) + e.arguments;
    if (e.type === "reasoning_delta")
      thoughts[e.index] =
        (thoughts[e.index] ?? "") +
        (e.text ?? "") +
        (e.signature ? `|${e.signature}` : "") +
        (e.redactedData ?? "");
  }
  return {
    text: events.map((e) => (e.type === "delta" ? e.text : "")).join(""),
    calls,
    thoughts,
    finish: events.filter((e) => e.type === "finish"),
  };
}

const WHOLE = {
  text: DEFAULT_TEXT,
  calls: { 0: `${weather?.id}/get_weather:{"city":""}`, 1: `${time?.id}/get_time:{}` },
  thoughts: {
    0: `${DEFAULT_REASONING}|${reasoning?.type === "reasoning" ? reasoning.signature : ""}`,
    1: "AAECAw==",
  },
  finish: [
    {
      type: "finish",
      finishReason: "tool_calls",
      usage: { inputTokens: 3, outputTokens: plan.usage.outputTokens },
      nonTextContent: [],
    },
  ],
};

describe("ConverseStream decoding: reasoning, redacted reasoning, text, two tool calls", () => {
  it("decodes whole, tool calls and reasoning numbered per kind from 0", async () => {
    const { events, error } = await decoded([BYTES]);
    expect(error).toBeUndefined();
    expect(summary(events)).toEqual(WHOLE);
  });

  it("decodes the same split in two at every byte", async () => {
    for (let at = 0; at <= BYTES.length; at += 7) {
      const { events } = await decoded([BYTES.subarray(0, at), BYTES.subarray(at)]);
      expect(summary(events)).toEqual(WHOLE);
    }
  });

  it("decodes the same however its bytes are cut (fast-check)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: BYTES.length - 1 }), { maxLength: 40 }),
        async (cuts) => {
          const at = [0, ...cuts.sort((a, b) => a - b), BYTES.length];
          const { events, error } = await decoded(at.slice(1).map((end, i) => BYTES.subarray(at[i], end)));
          expect(error).toBeUndefined();
          expect(summary(events)).toEqual(WHOLE);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("decodes it a byte at a time", async () => {
    const { events } = await decoded([...BYTES].map((b) => Uint8Array.of(b)));
    expect(summary(events)).toEqual(WHOLE);
  });
});

describe("an exception event", () => {
  const frames = converseStreamFrames(planBedrock({ messages: [] }, { text: "one two three" }));
  const exception = exceptionFrame("throttlingException", "Too many tokens");

  it("arriving in pieces of any size ends the stream with its error, after the text before it", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: exception.length }), async (size) => {
        const pieces: Uint8Array[] = [...frames.slice(0, 2)];
        for (let at = 0; at < exception.length; at += size) pieces.push(exception.subarray(at, at + size));
        const { events, error } = await decoded(pieces);
        expect(summary(events).text).toBe("one");
        expect(error).toMatchObject({
          kind: "resource_exhausted",
          retryable: true,
          reason: "UPSTREAM_STREAM_ERROR",
          message: "bedrock-wire ThrottlingException: Too many tokens (in the stream)",
        });
      }),
    );
  });

  it("a stream that ends before messageStop is UPSTREAM_STREAM_CUT; after it, whole without metadata", async () => {
    expect((await decoded(frames.slice(0, 3))).error).toMatchObject({ reason: "UPSTREAM_STREAM_CUT" });
    const { events, error } = await decoded(frames.slice(0, -1));
    expect(error).toBeUndefined();
    expect(events.at(-1)).toEqual({
      type: "finish",
      finishReason: "stop",
      usage: undefined,
      nonTextContent: [],
    });
  });

  it("a toolUse delta for a block never started is UPSTREAM_MALFORMED", async () => {
    const { eventFrame } = await import("../support/fakes/bedrock-format.js");
    const bad = eventFrame("contentBlockDelta", { contentBlockIndex: 4, delta: { toolUse: { input: "{" } } });
    const { error } = await decoded([frames[0] ?? new Uint8Array(), bad]);
    expect(error).toMatchObject({ kind: "unavailable", reason: "UPSTREAM_MALFORMED" });
  });
});
