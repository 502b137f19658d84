import type OpenAI from "openai";
import { describe, expect, test } from "vitest";
import { ChunkWriter, completionJson } from "../../src/openai-api/chat-response.js";
import type { ChatResult, StreamFinish } from "../../src/providers/provider.js";

const CREATED = 1_764_662_400;
const UPSTREAM = { origin: "https://api.openai.com", protocol: "h2", connectionReused: true, latencyMs: 12 };
const CALLS = [
  { id: "call_1", name: "get_weather", arguments: '{"city":"Paris","unit":"celsius"}' },
  { id: "call_2", name: "get_time", arguments: '{"timezone":"Europe/Paris"}' },
];

const DETAILED_USAGE = {
  inputTokens: 2006,
  outputTokens: 300,
  cachedInputTokens: 1920,
  reasoningTokens: 192,
  costUsd: 0.0042,
};
const DETAILED_USAGE_JSON = {
  prompt_tokens: 2006,
  completion_tokens: 300,
  total_tokens: 2306,
  prompt_tokens_details: { cached_tokens: 1920 },
  completion_tokens_details: { reasoning_tokens: 192 },
  cost_usd: 0.0042,
};

function result(fields: Partial<ChatResult>): ChatResult {
  return {
    id: "chatcmpl-1",
    text: "",
    finishReason: "stop",
    usage: { inputTokens: 20, outputTokens: 6 },
    nonTextContent: [],
    toolCalls: [],
    reasoning: [],
    refusal: "",
    upstream: UPSTREAM,
    ...fields,
  };
}

const completion = (fields: Partial<ChatResult>) =>
  JSON.parse(completionJson(result(fields), "gpt-4o-mini", CREATED)) as OpenAI.ChatCompletion;

const messageOf = (fields: Partial<ChatResult>) => completion(fields).choices[0]?.message;

describe("a chat.completion", () => {
  test("with text only: no tool_calls or reasoning_content, refusal null, usage detailed", () => {
    expect(completion({ text: "Bonjour" })).toEqual({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: CREATED,
      model: "gpt-4o-mini",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "Bonjour", refusal: null },
          logprobs: null,
          finish_reason: "stop",
        },
      ],
      usage: {
        prompt_tokens: 20,
        completion_tokens: 6,
        total_tokens: 26,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 },
        cost_usd: 0,
      },
    });
  });

  test("with tool calls: content null, tool_calls in OpenAI's shape, finish_reason tool_calls", () => {
    const { choices } = completion({ toolCalls: CALLS, finishReason: "tool_calls" });
    expect(choices[0]).toEqual({
      index: 0,
      message: {
        role: "assistant",
        content: null,
        refusal: null,
        tool_calls: CALLS.map(({ id, name, arguments: args }) => ({
          id,
          type: "function",
          function: { name, arguments: args },
        })),
      },
      logprobs: null,
      finish_reason: "tool_calls",
    });
  });

  test("text beside tool calls is kept", () => {
    expect(messageOf({ text: "Let me look.", toolCalls: CALLS.slice(0, 1) })).toMatchObject({
      content: "Let me look.",
      tool_calls: [{ id: "call_1" }],
    });
  });

  test("a refusal: content null, the refusal in message.refusal", () => {
    expect(messageOf({ refusal: "I can't help with that." })).toEqual({
      role: "assistant",
      content: null,
      refusal: "I can't help with that.",
    });
  });

  test("reasoning is reasoning_content, its blocks' texts joined; signatures and redacted blocks left out", () => {
    const reasoning = [
      { text: "The user greets me.", signature: "sig-1" },
      { text: "", redactedData: "EmwKAhgBEgy3" },
      { text: "I should greet back.", signature: "sig-2" },
    ];
    expect(messageOf({ text: "Hello!", reasoning })).toEqual({
      role: "assistant",
      content: "Hello!",
      refusal: null,
      reasoning_content: "The user greets me.\n\nI should greet back.",
    });
  });

  test("cached and reasoning tokens are in the usage details", () => {
    expect(completion({ text: "x", usage: DETAILED_USAGE }).usage).toEqual(DETAILED_USAGE_JSON);
  });
});

/** The chunks of SSE text, as JSON. */
function chunks(sse: string | undefined): OpenAI.ChatCompletionChunk[] {
  expect(sse).toBeDefined();
  return (sse ?? "")
    .split("\n\n")
    .filter(Boolean)
    .map((event) => {
      expect(event).toMatch(/^data: \{/);
      return JSON.parse(event.slice("data: ".length));
    });
}

const deltaOf = (sse: string | undefined) => {
  const [chunk] = chunks(sse);
  expect(chunk).toMatchObject({ id: "chatcmpl-1", object: "chat.completion.chunk", model: "gpt-4o-mini" });
  expect(chunk?.choices).toHaveLength(1);
  expect(chunk?.choices[0]).toMatchObject({ index: 0, logprobs: null, finish_reason: null });
  return chunk?.choices[0]?.delta;
};

describe("chat.completion.chunk events", () => {
  const writer = () => new ChunkWriter("chatcmpl-1", "gpt-4o-mini", CREATED);

  test("start, text and refusal pieces", () => {
    const w = writer();
    expect(deltaOf(w.start())).toEqual({ role: "assistant", content: "" });
    expect(deltaOf(w.content({ type: "delta", text: "Bon" }))).toEqual({ content: "Bon" });
    expect(deltaOf(w.content({ type: "refusal_delta", text: "I can't" }))).toEqual({ refusal: "I can't" });
  });

  test("a tool call's id, type and name come in its first chunk only, its arguments in every one", () => {
    const w = writer();
    const first = {
      type: "tool_call_delta",
      index: 1,
      id: "call_2",
      name: "get_time",
      arguments: "",
    } as const;
    expect(deltaOf(w.content(first))).toEqual({
      tool_calls: [
        { index: 1, id: "call_2", type: "function", function: { name: "get_time", arguments: "" } },
      ],
    });
    expect(deltaOf(w.content({ type: "tool_call_delta", index: 1, arguments: '{"timezone"' }))).toEqual({
      tool_calls: [{ index: 1, function: { arguments: '{"timezone"' } }],
    });
  });

  test("reasoning text is reasoning_content, a new block separated; a signature alone sends nothing", () => {
    const w = writer();
    const reasoning = (index: number, fields: { text?: string; signature?: string }) =>
      w.content({ type: "reasoning_delta", index, ...fields });
    expect(deltaOf(reasoning(0, { text: "The user" }))).toEqual({ reasoning_content: "The user" });
    expect(deltaOf(reasoning(0, { text: " greets me." }))).toEqual({ reasoning_content: " greets me." });
    expect(reasoning(0, { signature: "sig-1" })).toBeUndefined();
    expect(reasoning(1, { text: "" })).toBeUndefined();
    expect(deltaOf(reasoning(2, { text: "Greet back." }))).toEqual({ reasoning_content: "\n\nGreet back." });
  });

  const finish: StreamFinish = {
    type: "finish",
    finishReason: "tool_calls",
    usage: DETAILED_USAGE,
    nonTextContent: [],
    toolCalls: CALLS,
    reasoning: [],
    refusal: "",
  };

  test("the finish chunk, then the usage chunk with no choices when asked", () => {
    const [last, usage, ...rest] = chunks(writer().finish(finish, true));
    expect(rest).toEqual([]);
    expect(last?.choices).toEqual([{ index: 0, delta: {}, logprobs: null, finish_reason: "tool_calls" }]);
    expect(last).not.toHaveProperty("usage");
    expect(usage).toMatchObject({
      id: "chatcmpl-1",
      choices: [],
      usage: DETAILED_USAGE_JSON,
    });
    expect(chunks(writer().finish(finish, false))).toHaveLength(1);
  });
});
