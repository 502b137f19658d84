import type { MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import {
  FinishReason,
  type MessageSchema,
  type StreamFinish,
  type ToolCall,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import type { FakeAnthropic, FakeOpenAI, RecordedRequest } from "../support/fakes/index.js";
import { useFakeProvidersGateway } from "../support/provider-gateway.js";

// An agent loop through Generate and GenerateStream over gRPC, on an OpenAI and on an Anthropic
// deployment: the model asks for two tools at once, the caller runs both and sends the results
// back, and the model answers. What each provider received is checked in its own wire format.
const KEY = "sk-agent-loop-0123456789";
const CITY = JSON.stringify({ type: "object", properties: { city: { type: "string" } }, required: ["city"] });
const TOOLS = [
  { name: "get_weather", description: "The weather in a city now", parametersJson: CITY },
  { name: "get_time", description: "The local time in a city", parametersJson: CITY },
];
const ASK = { role: "user", content: "What is the weather and time in Paris?" };
const RESULTS: Record<string, string> = { get_weather: '{"celsius":21}', get_time: '{"time":"14:05"}' };

const upstreams = useFakeProvidersGateway(KEY);

type Turn = MessageInitShape<typeof MessageSchema>;

/** The turns that answer a model's calls: its own turn as it came, then one tool turn per call. */
function answered(reply: { text: string; toolCalls: ToolCall[]; reasoning: Turn["reasoning"] }): Turn[] {
  return [
    { role: "assistant", content: reply.text, toolCalls: reply.toolCalls, reasoning: reply.reasoning },
    ...reply.toolCalls.map((call) => ({
      role: "tool",
      toolCallId: call.id,
      content: RESULTS[call.name] ?? "",
    })),
  ];
}

const lastRequest = (fake: FakeOpenAI | FakeAnthropic): RecordedRequest =>
  fake.requests.at(-1) as RecordedRequest;

describe.each([
  { provider: "openai", model: "openai/gpt-4o" },
  { provider: "anthropic", model: "anthropic/claude-sonnet-4-5" },
] as const)("on the $provider deployment", ({ provider, model }) => {
  const fake = () => (provider === "openai" ? upstreams.openai : upstreams.anthropic);
  /** The next answer calls every tool the request offers. */
  const callTools = () =>
    provider === "openai"
      ? upstreams.openai.respondWith({ kind: "answer", flavour: "tool-calls" })
      : upstreams.anthropic.respondWith({ kind: "answer", flavour: "tool-use" });

  test("Generate: two parallel calls, their results sent back, then the answer", async () => {
    callTools();
    const first = await upstreams.gw.client.generate({
      model,
      messages: [ASK],
      tools: TOOLS,
      maxTokens: 2048,
    });
    expect(first.finishReason).toBe(FinishReason.TOOL_CALLS);
    expect(first.toolCalls.map((call) => call.name)).toEqual(["get_weather", "get_time"]);
    for (const call of first.toolCalls) {
      expect(call.id).not.toBe("");
      expect(JSON.parse(call.arguments)).toEqual({ city: expect.any(String) });
    }

    const second = await upstreams.gw.client.generate({
      model,
      messages: [ASK, ...answered(first)],
      tools: TOOLS,
      maxTokens: 2048,
    });
    expect(second.finishReason).toBe(FinishReason.STOP);
    expect(second.text.length).toBeGreaterThan(0);
    expect(second.toolCalls).toEqual([]);
    expectResultsSent(provider, lastRequest(fake()), first.toolCalls);
  });

  test("GenerateStream: the calls come as pieces, and whole in the finish event", async () => {
    callTools();
    const pieces = new Map<number, { id: string; name: string; arguments: string }>();
    let finish: StreamFinish | undefined;
    for await (const { event } of upstreams.gw.client.generateStream({
      model,
      messages: [ASK],
      tools: TOOLS,
      maxTokens: 2048,
    })) {
      if (event.case === "toolCall") {
        const { index, id, name, arguments: args } = event.value;
        const call = pieces.get(index);
        if (call === undefined) pieces.set(index, { id, name, arguments: args });
        else {
          // Only a call's first piece names it.
          expect({ id, name }).toEqual({ id: "", name: "" });
          call.arguments += args;
        }
      }
      if (event.case === "finish") finish = event.value;
    }
    expect(finish?.finishReason).toBe(FinishReason.TOOL_CALLS);
    const assembled = finish?.toolCalls.map(({ id, name, arguments: args }) => ({
      id,
      name,
      arguments: args,
    }));
    expect([...pieces.values()]).toEqual(assembled);
    expect(assembled?.map((call) => call.name)).toEqual(["get_weather", "get_time"]);

    const reply = { text: "", toolCalls: finish?.toolCalls ?? [], reasoning: finish?.reasoning ?? [] };
    let text = "";
    for await (const { event } of upstreams.gw.client.generateStream({
      model,
      messages: [ASK, ...answered(reply)],
      tools: TOOLS,
      maxTokens: 2048,
    }))
      if (event.case === "delta") text += event.value.text;
    expect(text.length).toBeGreaterThan(0);
    expectResultsSent(provider, lastRequest(fake()), reply.toolCalls);
  });
});

// What an Anthropic SDK agent sends, through the contract: a system prompt, thinking with a budget,
// the signed thinking sent back, and a tool result that reports the tool's failure.
test("with thinking on, Anthropic's reasoning goes back with its signature, and a failed tool says so", async () => {
  upstreams.anthropic.respondWith({ kind: "answer", flavour: "tool-use" });
  const model = "anthropic/claude-sonnet-4-5";
  const fields = {
    model,
    tools: TOOLS,
    system: "Use metric units.",
    reasoningBudgetTokens: 1024,
    maxTokens: 4096,
  };
  const first = await upstreams.gw.client.generate({ ...fields, messages: [ASK] });
  expect(first.reasoning).toEqual([
    expect.objectContaining({ text: expect.stringMatching(/\S/), signature: expect.stringMatching(/\S/) }),
  ]);
  expect(first.toolCalls).toHaveLength(2);
  const [turn, weather, time] = answered(first);
  const failed = { ...time, content: "the time service timed out", isError: true };
  const second = await upstreams.gw.client.generate({
    ...fields,
    messages: [ASK, turn as Turn, weather as Turn, failed],
  });
  expect(second.finishReason).toBe(FinishReason.STOP);
  const sent = lastRequest(upstreams.anthropic).body as {
    system: string;
    thinking: unknown;
    messages: { role: string; content: { type: string; is_error?: boolean }[] }[];
  };
  expect(sent.system).toBe("Use metric units.");
  expect(sent.thinking).toEqual({ type: "enabled", budget_tokens: 1024 });
  expect(sent.messages[2]?.content.map((block) => [block.type, block.is_error])).toEqual([
    ["tool_result", false],
    ["tool_result", true],
  ]);
  const assistant = sent.messages[1];
  expect(assistant?.content.map((block) => block.type)).toEqual(["thinking", "text", "tool_use", "tool_use"]);
  expect(assistant?.content[0]).toEqual({
    type: "thinking",
    thinking: first.reasoning[0]?.text,
    signature: first.reasoning[0]?.signature,
  });
});

/** The tool results reached the provider in its own shape, each answering its call by id. */
function expectResultsSent(
  provider: "openai" | "anthropic",
  request: RecordedRequest,
  calls: ToolCall[],
): void {
  const body = request.body as { messages: { role: string; content: unknown; tool_call_id?: string }[] };
  if (provider === "openai") {
    // One `tool` message per call, right after the assistant turn that made them.
    expect(body.messages.slice(-2)).toEqual(
      calls.map((call) => ({ role: "tool", tool_call_id: call.id, content: RESULTS[call.name] })),
    );
    return;
  }
  // Anthropic: every result a tool_result block, together in the one user turn after the calls.
  const last = body.messages.at(-1);
  expect(last?.role).toBe("user");
  expect(last?.content).toEqual(
    calls.map((call) => expect.objectContaining({ type: "tool_result", tool_use_id: call.id })),
  );
  expect(body.messages.filter((turn) => turn.role === "user")).toHaveLength(2);
}
