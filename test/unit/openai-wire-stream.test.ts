import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ChatStreamEvent, ToolCall } from "../../src/providers/provider.js";
import { openAIOverFake, request, streamOf } from "./openai-wire-harness.js";

const { fake, provider } = openAIOverFake();

const CALLS: ToolCall[] = [
  { id: "call_W3ather", name: "get_weather", arguments: '{"city":"Köln","unit":"celsius"}' },
  { id: "call_T1me", name: "get_time", arguments: '{"timezone":"Europe/Berlin 🕛"}' },
];

const base = {
  id: "chatcmpl-parallel",
  object: "chat.completion.chunk",
  created: 1764669600,
  model: "gpt-4o",
};
const chunk = (delta: object, finish: string | null = null) =>
  `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], usage: null })}\n\n`;

/** `text` cut at `cuts` (character offsets): the fragments a model streams. */
function piecesOf(text: string, cuts: number[]): string[] {
  const at = [
    0,
    ...[...new Set(cuts)].filter((c) => c > 0 && c < text.length).sort((a, b) => a - b),
    text.length,
  ];
  return at.slice(1).map((end, i) => text.slice(at[i], end));
}

/**
 * The SSE of two parallel tool calls the way api.openai.com streams them: each call's first piece
 * with its id, type and name and empty arguments, then argument fragments interleaved by index.
 */
function parallelCallsSse(cuts: [number[], number[]] = [[9, 20], [7]]): string {
  const starts = CALLS.map(({ id, name }, index) =>
    chunk({ tool_calls: [{ index, id, type: "function", function: { name, arguments: "" } }] }),
  );
  const fragments = CALLS.map((call, i) => piecesOf(call.arguments, cuts[i] ?? []));
  const rounds = Math.max(...fragments.map((list) => list.length));
  const rest: string[] = [];
  for (let round = 0; round < rounds; round++) {
    fragments.forEach((list, index) => {
      const piece = list[round];
      if (piece !== undefined) rest.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
    });
  }
  const usage = { prompt_tokens: 80, completion_tokens: 40, total_tokens: 120 };
  return [
    chunk({ role: "assistant", content: null, refusal: null }),
    ...starts,
    ...rest,
    chunk({}, "tool_calls"),
    `data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`,
    "data: [DONE]\n\n",
  ].join("");
}

const rawSse = (chunks: (string | Uint8Array)[]) => ({
  kind: "raw" as const,
  headers: { "content-type": "text/event-stream" },
  chunks,
});

/** Both calls came out whole in the finish, and the pieces passed on add up to them too. */
function expectWhole(events: ChatStreamEvent[], error: unknown) {
  expect(error).toBeUndefined();
  const finish = events.at(-1);
  expect(finish).toMatchObject({ type: "finish", finishReason: "tool_calls", toolCalls: CALLS, refusal: "" });
  const fromPieces = CALLS.map((_, index) =>
    events.flatMap((e) => (e.type === "tool_call_delta" && e.index === index ? [e.arguments] : [])).join(""),
  );
  expect(fromPieces).toEqual(CALLS.map((call) => call.arguments));
}

describe("two parallel tool calls, streamed", () => {
  it("each call's id and name come in its first piece only, and the finish carries both whole", async () => {
    fake().respondWith(rawSse([parallelCallsSse()]));
    const { events, error } = await streamOf(provider());
    expectWhole(events, error);
    const pieces = events.filter((e) => e.type === "tool_call_delta");
    expect(pieces.slice(0, 2)).toEqual([
      { type: "tool_call_delta", index: 0, id: CALLS[0]?.id, name: "get_weather", arguments: "" },
      { type: "tool_call_delta", index: 1, id: CALLS[1]?.id, name: "get_time", arguments: "" },
    ]);
    expect(pieces.slice(2).every((piece) => !("id" in piece) && !("name" in piece))).toBe(true);
    expect(events.some((e) => e.type === "delta")).toBe(false);
  });

  it("come out whole with their arguments split at every character", async () => {
    const longest = Math.max(...CALLS.map((call) => call.arguments.length));
    for (let at = 0; at <= longest; at++) {
      fake().respondWith(rawSse([parallelCallsSse([[at], [longest - at]])]));
      const { events, error } = await streamOf(provider());
      expectWhole(events, error);
    }
  });

  it("come out whole with the SSE bytes split at every byte", async () => {
    const bytes = Buffer.from(parallelCallsSse());
    for (let at = 1; at < bytes.length; at++) {
      fake().respondWith(rawSse([bytes.subarray(0, at), bytes.subarray(at)]));
      const { events, error } = await streamOf(provider());
      expectWhole(events, error);
    }
  });

  it("come out whole with fragments and network pieces cut anywhere (generated)", async () => {
    const cutsOf = (text: string) =>
      fc.uniqueArray(fc.integer({ min: 0, max: text.length }), { maxLength: 8 });
    const [first, second] = CALLS.map((call) => cutsOf(call.arguments));
    if (!first || !second) throw new Error("two calls");
    await fc.assert(
      fc.asyncProperty(
        first,
        second,
        fc.uniqueArray(fc.nat(), { maxLength: 12 }),
        async (cutsA, cutsB, byteCuts) => {
          const bytes = Buffer.from(parallelCallsSse([cutsA, cutsB]));
          const at = [...new Set([0, ...byteCuts.map((c) => c % bytes.length), bytes.length])].sort(
            (a, b) => a - b,
          );
          fake().respondWith(rawSse(at.slice(1).map((end, i) => bytes.subarray(at[i], end))));
          const { events, error } = await streamOf(provider());
          expectWhole(events, error);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("a stream cut inside a tool call", () => {
  it("ends with an error after every event before [DONE], never a finish", async () => {
    const events = parallelCallsSse().split(/(?<=\n\n)/);
    for (let kept = 2; kept < events.length; kept++) {
      fake().respondWith(rawSse(events.slice(0, kept)));
      const { events: got, finish, error } = await streamOf(provider());
      expect(finish).toBeUndefined();
      expect(error).toMatchObject({ kind: "unavailable", reason: "UPSTREAM_STREAM_CUT" });
      expect(got.some((e) => e.type === "tool_call_delta")).toBe(true);
    }
  });

  it("ends with an error when the connection breaks between argument fragments", async () => {
    fake().respondWith({ kind: "stream", flavour: "tool-calls", resetAfterEvents: 4, resetMode: "stream" });
    const { finish, error } = await streamOf(provider());
    expect(finish).toBeUndefined();
    expect(error).toMatchObject({ kind: "unavailable", delivered: true });
  });
});

describe("other content, streamed", () => {
  it("the fake's calls to the request's tools", async () => {
    fake().respondWith({ kind: "stream", flavour: "tool-calls" });
    const tools = [
      {
        name: "lookup",
        parameters: { type: "object", properties: { q: { type: "string" } }, required: ["q"] },
      },
    ];
    const { finish, error } = await streamOf(provider(), request({ tools }));
    expect(error).toBeUndefined();
    expect(finish?.toolCalls).toMatchObject([{ name: "lookup", arguments: '{"q":""}' }]);
  });

  it("a refusal in refusal pieces and the finish, never in the text", async () => {
    fake().respondWith({ kind: "stream", flavour: "refusal", text: "I can't help with that." });
    const { events, finish } = await streamOf(provider());
    expect(events.filter((e) => e.type === "refusal_delta").length).toBeGreaterThan(1);
    expect(events.some((e) => e.type === "delta")).toBe(false);
    expect(finish).toMatchObject({ refusal: "I can't help with that.", nonTextContent: [] });
  });

  it("reasoning_content as pieces of reasoning block 0, then the text, with the token details", async () => {
    fake().respondWith({
      kind: "stream",
      text: "Four.",
      reasoning: "Two plus two is four.",
      cachedTokens: 2,
    });
    const { events, finish } = await streamOf(provider());
    const kinds = events.map((e) => e.type).filter((type) => type.endsWith("delta"));
    expect(kinds.indexOf("delta")).toBeGreaterThan(kinds.lastIndexOf("reasoning_delta"));
    expect(events.filter((e) => e.type === "reasoning_delta").every((e) => e.index === 0)).toBe(true);
    expect(finish).toMatchObject({
      reasoning: [{ text: "Two plus two is four." }],
      usage: { inputTokens: 2, outputTokens: 6, cachedInputTokens: 2, reasoningTokens: 5 },
    });
  });
});
