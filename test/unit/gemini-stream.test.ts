import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors/gateway-error.js";
import { readGenerateContentStream } from "../../src/providers/gemini/stream.js";
import type { ChatStreamEvent, WireStreamEvent } from "../../src/providers/provider.js";
import { geminiErrorBody } from "../support/fakes/fake-gemini.js";
import {
  DEFAULT_GEMINI_THOUGHT,
  type GenerateContentRequest,
  geminiSse,
  generateContentChunks,
  planGemini,
} from "../support/fakes/gemini-format.js";
import { chat, eventsOf, geminiOverFake } from "./gemini-wire-harness.js";

const { fake, provider } = geminiOverFake();

/** Text with multi-byte characters, thoughts, and the signature chunk: one planned answer, cut many ways. */
const TEXT = "Grüße aus Köln 👋 — und 東京 auch.";
const REQUEST: GenerateContentRequest = {
  contents: [{ role: "user", parts: [{ text: "Say hello" }] }],
  generationConfig: { thinkingConfig: { includeThoughts: true } },
};
const plan = planGemini(REQUEST, "gemini-x", { flavour: "thinking", text: TEXT });
const EVENTS = generateContentChunks(plan, { wordsPerChunk: 2 }).map(geminiSse);
const BYTES = Buffer.from(EVENTS.join(""), "utf8");

const raw = (chunks: (string | Uint8Array)[], status = 200) =>
  ({ kind: "raw", status, headers: { "content-type": "text/event-stream" }, chunks }) as const;

/** What the stream must come out as, whole. */
const WHOLE = {
  id: plan.responseId,
  text: TEXT,
  reasoning: [{ text: DEFAULT_GEMINI_THOUGHT }, { text: "", signature: plan.signature }],
  finishReason: "stop",
  usage: {
    inputTokens: 2,
    outputTokens: plan.usage.candidatesTokenCount + (plan.usage.thoughtsTokenCount ?? 0),
    reasoningTokens: plan.usage.thoughtsTokenCount,
  },
};

function summary(events: ChatStreamEvent[]) {
  const [start] = events;
  const finish = events.at(-1);
  if (start?.type !== "start" || finish?.type !== "finish") throw new Error("not a whole stream");
  return {
    id: start.id,
    text: events.map((e) => (e.type === "delta" ? e.text : "")).join(""),
    reasoning: finish.reasoning,
    finishReason: finish.finishReason,
    usage: finish.usage,
  };
}

async function decoded(chunks: Uint8Array[]): Promise<WireStreamEvent[]> {
  const events: WireStreamEvent[] = [];
  async function* body() {
    yield* chunks;
  }
  for await (const event of readGenerateContentStream(body(), "gemini-wire")) events.push(event);
  return events;
}

/** Splits `bytes` at the given cut points. */
const cutAt = (bytes: Buffer, cuts: number[]) => {
  const at = [0, ...[...cuts].sort((a, b) => a - b), bytes.length];
  return at.slice(1).map((end, i) => bytes.subarray(at[i], end));
};

describe("a streamed answer with thoughts, multi-byte text and a signature chunk", () => {
  it("comes out whole with every byte its own piece", async () => {
    fake().respondWith({ ...raw(EVENTS), chunkBytes: 1 });
    const { events, error } = await eventsOf(provider(), chat());
    expect(error).toBeUndefined();
    expect(summary(events)).toEqual(WHOLE);
    // Consecutive thought chunks are one reasoning block; the signature is the next.
    const reasoning = events.filter((e) => e.type === "reasoning_delta");
    expect(new Set(reasoning.map((e) => e.index))).toEqual(new Set([0, 1]));
  });

  it("decodes the same split in two at every byte", async () => {
    const whole = await decoded([BYTES]);
    expect(whole.at(-1)).toMatchObject({ type: "finish", finishReason: "stop" });
    for (let at = 0; at <= BYTES.length; at++) {
      expect(await decoded([BYTES.subarray(0, at), BYTES.subarray(at)])).toEqual(whole);
    }
  });

  it("comes out whole through the provider however its bytes are cut", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: BYTES.length - 1 }), { maxLength: 16 }),
        async (cuts) => {
          fake().respondWith(raw(cutAt(BYTES, cuts)));
          const { events, error } = await eventsOf(provider(), chat());
          expect(error).toBeUndefined();
          expect(summary(events)).toEqual(WHOLE);
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe("a stream that fails", () => {
  const ERROR_EVENT = geminiSse({
    error: { code: 503, message: "The model is overloaded.", status: "UNAVAILABLE" },
  });

  it("ends with the error of an {error} event arriving in pieces, after the text before it", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: 200 }), { maxLength: 8 }), async (cuts) => {
        const bytes = Buffer.from(EVENTS.slice(0, 3).join("") + ERROR_EVENT, "utf8");
        fake().respondWith(
          raw(
            cutAt(
              bytes,
              cuts.filter((c) => c < bytes.length),
            ),
          ),
        );
        const { events, error } = await eventsOf(provider(), chat());
        expect(events.some((e) => e.type === "finish")).toBe(false);
        expect(error).toBeInstanceOf(GatewayError);
        expect(error).toMatchObject({
          kind: "unavailable",
          retryable: true,
          status: 503,
          reason: "UPSTREAM_STREAM_ERROR",
        });
        expect((error as Error).message).toBe(
          "gemini-wire UNAVAILABLE: The model is overloaded. (in the stream)",
        );
      }),
      { numRuns: 20 },
    );
  });

  it("maps an error event's code, or its status when the code says nothing", async () => {
    const limited = geminiSse({ error: { code: 429, message: "Slow down", status: "RESOURCE_EXHAUSTED" } });
    const unnumbered = geminiSse({ error: { message: "Bad", status: "INVALID_ARGUMENT" } });
    fake().respondWith(raw([limited]), raw([unnumbered]));
    expect((await eventsOf(provider(), chat())).error).toMatchObject({
      kind: "resource_exhausted",
      status: 429,
    });
    expect((await eventsOf(provider(), chat())).error).toMatchObject({
      kind: "invalid_argument",
      status: 400,
      retryable: false,
    });
  });

  it("is cut, never finished, when the body ends before a finish reason", async () => {
    fake().respondWith(raw(EVENTS.slice(0, -1)));
    const { events, error } = await eventsOf(provider(), chat());
    expect(events.some((e) => e.type === "delta")).toBe(true);
    expect(events.some((e) => e.type === "finish")).toBe(false);
    expect(error).toMatchObject({ kind: "unavailable", reason: "UPSTREAM_STREAM_CUT" });
  });

  it("reads an HTTP error's Google JSON whatever pieces it comes in, RetryInfo as the wait", async () => {
    const body = JSON.stringify(geminiErrorBody(429, { retryDelay: "12.5" }));
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: body.length - 1 }), { maxLength: 10 }),
        async (cuts) => {
          fake().respondWith({
            kind: "raw",
            status: 429,
            headers: { "content-type": "application/json; charset=UTF-8" },
            chunks: cutAt(Buffer.from(body), cuts),
          });
          const { error } = await eventsOf(provider(), chat());
          expect(error).toMatchObject({
            kind: "resource_exhausted",
            retryable: true,
            status: 429,
            reason: "UPSTREAM_HTTP_429",
            retryAfterMs: 12_500,
          });
        },
      ),
      { numRuns: 15 },
    );
  });
});
