import { describe, expect, test } from "vitest";
import { GatewayError } from "../../src/errors/gateway-error.js";
import { readChatStream } from "../../src/providers/openai/stream.js";

const PROVIDER = "openai";

/** Chunks as api.openai.com sends them with `stream_options: {include_usage: true}`. */
const roleChunk = {
  id: "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
  object: "chat.completion.chunk",
  created: 1741569952,
  model: "gpt-4o-mini-2024-07-18",
  service_tier: "default",
  system_fingerprint: "fp_06737a9306",
  choices: [
    {
      index: 0,
      delta: { role: "assistant", content: "", refusal: null },
      logprobs: null,
      finish_reason: null,
    },
  ],
  usage: null,
};
const contentChunk = (content: string) => ({
  ...roleChunk,
  choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }],
});
const finishChunk = {
  ...roleChunk,
  choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "length" }],
};
const usageChunk = {
  ...roleChunk,
  choices: [],
  usage: {
    prompt_tokens: 19,
    completion_tokens: 10,
    total_tokens: 29,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
  },
};

function sse(...events: (object | string)[]): string {
  return events
    .map((event) => `data: ${typeof event === "string" ? event : JSON.stringify(event)}\n\n`)
    .join("");
}

async function* bodyOf(text: string, chunkSize: number): AsyncGenerator<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  for (let at = 0; at < bytes.length; at += chunkSize) yield bytes.subarray(at, at + chunkSize);
}

/** Everything the reader yielded, and what it threw at the end (undefined when it finished). */
async function read(text: string, chunkSize = 16): Promise<{ events: unknown[]; error: unknown }> {
  const events: unknown[] = [];
  try {
    for await (const event of readChatStream(bodyOf(text, chunkSize), PROVIDER)) events.push(event);
  } catch (error) {
    return { events, error };
  }
  return { events, error: undefined };
}

const completeStream = sse(
  roleChunk,
  contentChunk("Héllo"),
  contentChunk(", wörld 🌍"),
  finishChunk,
  usageChunk,
  "[DONE]",
);

describe("a complete stream", () => {
  test.each([1, 7, 64, completeStream.length])(
    "in %i-byte chunks gives the id, the deltas, and a finish with usage",
    async (chunkSize) => {
      const { events, error } = await read(completeStream, chunkSize);
      expect(error).toBeUndefined();
      expect(events).toEqual([
        { type: "id", id: "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT" },
        { type: "delta", text: "Héllo" },
        { type: "delta", text: ", wörld 🌍" },
        {
          type: "finish",
          finishReason: "length",
          usage: { inputTokens: 19, outputTokens: 10, cachedInputTokens: 0, reasoningTokens: 0 },
          nonTextContent: [],
        },
      ]);
    },
  );

  test("a stream without a usage chunk finishes without usage", async () => {
    const { events, error } = await read(sse(roleChunk, contentChunk("hi"), finishChunk, "[DONE]"));
    expect(error).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ type: "finish", finishReason: "length", usage: undefined });
  });

  test("nothing after [DONE] is read", async () => {
    const { events, error } = await read(`${completeStream}${sse(contentChunk("late"))}`);
    expect(error).toBeUndefined();
    expect(events).not.toContainEqual({ type: "delta", text: "late" });
  });
});

describe("a failing stream", () => {
  test("an error object inside the stream throws a GatewayError, after the deltas before it", async () => {
    const upstreamError = {
      error: {
        message: "The server had an error while processing your request. Sorry about that!",
        type: "server_error",
        param: null,
        code: null,
      },
    };
    const { events, error } = await read(sse(roleChunk, contentChunk("par"), upstreamError));
    expect(events).toContainEqual({ type: "delta", text: "par" });
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).reason).toBe("UPSTREAM_STREAM_ERROR");
    expect((error as GatewayError).message).toContain(
      "The server had an error while processing your request",
    );
    expect((error as GatewayError).message).toContain(PROVIDER);
  });

  test("a key quoted in an in-stream error is redacted", async () => {
    const upstreamError = { error: { message: "Incorrect API key provided: sk-proj-abc123456789xyz." } };
    const { error } = await read(sse(upstreamError));
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).message).not.toContain("abc123456789xyz");
  });

  test.each([
    { where: "mid-content", text: sse(roleChunk, contentChunk("Hel")) },
    { where: "after the finish reason, before [DONE]", text: sse(roleChunk, finishChunk, usageChunk) },
    { where: "inside an event", text: `${sse(roleChunk)}data: {"id":"chatcmpl-B9M` },
    { where: "before any event", text: "" },
  ])("a stream ended $where throws UPSTREAM_STREAM_CUT, never a finish", async ({ text }) => {
    const { events, error } = await read(text);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).reason).toBe("UPSTREAM_STREAM_CUT");
    expect((error as GatewayError).retryable).toBe(false);
    expect(events).not.toContainEqual(expect.objectContaining({ type: "finish" }));
  });

  test("an event that is not JSON throws UPSTREAM_MALFORMED", async () => {
    const { error } = await read(sse(roleChunk, "{not json", "[DONE]"));
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).reason).toBe("UPSTREAM_MALFORMED");
  });
});

describe("pieces besides text", () => {
  const deltaChunk = (delta: object) => ({
    ...roleChunk,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: null }],
  });

  test("tool call pieces by index, a refusal, and reasoning (DeepSeek's or OpenRouter's field, never both)", async () => {
    const { events, error } = await read(
      sse(
        deltaChunk({ reasoning_content: "Think", reasoning: "Think" }),
        deltaChunk({ reasoning: " more" }),
        deltaChunk({
          tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "f", arguments: "" } }],
        }),
        deltaChunk({ tool_calls: [{ index: 0, function: { arguments: '{"x":' } }] }),
        deltaChunk({ tool_calls: [{ index: 0, function: { arguments: "1}" } }] }),
        deltaChunk({ refusal: "No." }),
        "[DONE]",
      ),
    );
    expect(error).toBeUndefined();
    expect(events.slice(1, -1)).toEqual([
      { type: "reasoning_delta", index: 0, text: "Think" },
      { type: "reasoning_delta", index: 0, text: " more" },
      { type: "tool_call_delta", index: 0, id: "call_a", name: "f", arguments: "" },
      { type: "tool_call_delta", index: 0, arguments: '{"x":' },
      { type: "tool_call_delta", index: 0, arguments: "1}" },
      { type: "refusal_delta", text: "No." },
    ]);
  });

  test("a server that numbers no piece: a piece with an id begins the next call", async () => {
    const call = (id: string | undefined, args: string) => ({
      tool_calls: [
        { ...(id ? { id, function: { name: id, arguments: args } } : { function: { arguments: args } }) },
      ],
    });
    const { events } = await read(
      sse(
        deltaChunk(call("a", "{}")),
        deltaChunk(call("b", "{")),
        deltaChunk(call(undefined, "}")),
        "[DONE]",
      ),
    );
    expect(events.filter((e) => (e as { type: string }).type === "tool_call_delta")).toEqual([
      { type: "tool_call_delta", index: 0, id: "a", name: "a", arguments: "{}" },
      { type: "tool_call_delta", index: 1, id: "b", name: "b", arguments: "{" },
      { type: "tool_call_delta", index: 1, arguments: "}" },
    ]);
  });

  test("a server that repeats the id and name in every piece: they pass on in the first only", async () => {
    const piece = (index: number | undefined, args: string) => ({
      tool_calls: [
        { ...(index === undefined ? {} : { index }), id: "c", function: { name: "f", arguments: args } },
      ],
    });
    for (const index of [0, undefined]) {
      const { events } = await read(
        sse(deltaChunk(piece(index, '{"a"')), deltaChunk(piece(index, ":1}")), "[DONE]"),
      );
      expect(events.filter((e) => (e as { type: string }).type === "tool_call_delta")).toEqual([
        { type: "tool_call_delta", index: 0, id: "c", name: "f", arguments: '{"a"' },
        { type: "tool_call_delta", index: 0, arguments: ":1}" },
      ]);
    }
  });

  test("a server that numbers every parallel call 0 (Ollama, SGLang): a new id begins the next call", async () => {
    const piece = (id: string | undefined, args: string) => ({
      tool_calls: [
        {
          index: 0,
          ...(id
            ? { id, function: { name: `f_${id}`, arguments: args } }
            : { function: { arguments: args } }),
        },
      ],
    });
    const { events } = await read(
      sse(
        deltaChunk(piece("a", '{"city":')),
        deltaChunk(piece(undefined, '"A"}')),
        deltaChunk(piece("b", '{"city":')),
        deltaChunk(piece(undefined, '"B"}')),
        "[DONE]",
      ),
    );
    expect(events.filter((e) => (e as { type: string }).type === "tool_call_delta")).toEqual([
      { type: "tool_call_delta", index: 0, id: "a", name: "f_a", arguments: '{"city":' },
      { type: "tool_call_delta", index: 0, arguments: '"A"}' },
      { type: "tool_call_delta", index: 1, id: "b", name: "f_b", arguments: '{"city":' },
      { type: "tool_call_delta", index: 1, arguments: '"B"}' },
    ]);
  });

  test("the deprecated function_call, which has no id to answer, is named in nonTextContent", async () => {
    const { events } = await read(
      sse(deltaChunk({ function_call: { name: "f", arguments: "{}" } }), "[DONE]"),
    );
    expect(events.at(-1)).toMatchObject({ type: "finish", nonTextContent: ["tool_calls"] });
  });
});
