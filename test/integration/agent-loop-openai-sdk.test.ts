import OpenAI from "openai";
import type { ChatCompletionMessageParam, ChatCompletionTool } from "openai/resources/chat/completions";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  type FakeAnthropic,
  type FakeOpenAI,
  type RecordedRequest,
  startFakeAnthropic,
  startFakeOpenAI,
} from "../support/fakes/index.js";
import { type ProviderGateway, startProviderGateway } from "../support/provider-gateway.js";

// An OpenAI-SDK agent, unchanged, on the model name "agent" behind the gateway: once served by an
// OpenAI deployment, once by an Anthropic one. The model asks for two tools at once, the agent runs
// both and sends the results back, and the model answers in text.
const KEY = "sk-agent-sdk-0123456789";
const CITY = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
const TOOLS: ChatCompletionTool[] = [
  {
    type: "function",
    function: { name: "get_weather", description: "The weather in a city now", parameters: CITY },
  },
  {
    type: "function",
    function: { name: "get_time", description: "The local time in a city", parameters: CITY },
  },
];
const RESULTS: Record<string, string> = { get_weather: '{"celsius":21}', get_time: '{"time":"14:05"}' };

describe.each([
  { provider: "openai", model: "gpt-4o-mini" },
  { provider: "anthropic", model: "claude-sonnet-4-5" },
] as const)("the OpenAI SDK on an $provider deployment", ({ provider, model }) => {
  let fake: FakeOpenAI | FakeAnthropic;
  let gw: ProviderGateway;
  let sdk: OpenAI;
  beforeAll(async () => {
    fake =
      provider === "openai"
        ? await startFakeOpenAI({ apiKey: KEY })
        : await startFakeAnthropic({ apiKey: KEY });
    gw = await startProviderGateway({
      providers: { [provider]: { type: provider, upstream: fake, apiKey: KEY } },
      models: { agent: { deployments: [{ provider, model }] } },
    });
    sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "caller-key", maxRetries: 0 });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  /** The next answer calls every tool the request offers. */
  const callTools = () =>
    provider === "openai"
      ? (fake as FakeOpenAI).respondWith({ kind: "answer", flavour: "tool-calls" })
      : (fake as FakeAnthropic).respondWith({ kind: "answer", flavour: "tool-use" });

  async function loop(stream: boolean): Promise<{ calls: number; answer: string; sent: RecordedRequest }> {
    const messages: ChatCompletionMessageParam[] = [{ role: "user", content: "Weather and time in Paris?" }];
    callTools();
    const first = stream
      ? await sdk.chat.completions.stream({ model: "agent", messages, tools: TOOLS }).finalChatCompletion()
      : await sdk.chat.completions.create({ model: "agent", messages, tools: TOOLS });
    const choice = first.choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    const calls = choice?.message.tool_calls ?? [];
    expect(calls.map((call) => (call.type === "function" ? call.function.name : call.type))).toEqual([
      "get_weather",
      "get_time",
    ]);
    messages.push(choice?.message as ChatCompletionMessageParam);
    for (const call of calls) {
      if (call.type !== "function") continue;
      expect(JSON.parse(call.function.arguments)).toEqual({ city: expect.any(String) });
      messages.push({ role: "tool", tool_call_id: call.id, content: RESULTS[call.function.name] ?? "" });
    }
    const second = await sdk.chat.completions.create({ model: "agent", messages, tools: TOOLS });
    expect(second.choices[0]?.finish_reason).toBe("stop");
    return {
      calls: calls.length,
      answer: second.choices[0]?.message.content ?? "",
      sent: fake.requests.at(-1) as RecordedRequest,
    };
  }

  test.each([false, true])(
    "two parallel calls, both answered, then text (streamed first turn: %s)",
    async (stream) => {
      const { calls, answer, sent } = await loop(stream);
      expect(calls).toBe(2);
      expect(answer.length).toBeGreaterThan(0);
      // The results reached the provider in its own shape, each answering its call.
      const body = sent.body as { model: string; messages: { role: string; content: unknown }[] };
      expect(body.model).toBe(model);
      if (provider === "openai") {
        expect(body.messages.slice(-2).map((m) => m.role)).toEqual(["tool", "tool"]);
      } else {
        const last = body.messages.at(-1);
        expect(last?.role).toBe("user");
        expect(((last?.content ?? []) as { type: string }[]).map((block) => block.type)).toEqual([
          "tool_result",
          "tool_result",
        ]);
      }
    },
  );
});
