/**
 * Fake OpenAI and Anthropic upstreams speaking the real wire formats, for provider tests.
 *
 *   const fake = await startFakeOpenAI({ apiKey: "sk-test" });
 *   fake.respondWith({ kind: "stream", flavour: "openai-2026", text: "Hello world" });
 *   // ... call `${fake.origin}/v1/chat/completions`, trusting `fake.ca` ...
 *   fake.requests[0]?.headers; fake.on("abort", (at) => ...); await fake.close();
 */

export type { AnthropicAnswer, AnthropicFlavour, AnthropicPlan } from "./anthropic-format.js";
export { DEFAULT_THINKING, DEFAULT_TOOL_USE, TOOL_INPUT_FRAGMENTS } from "./anthropic-format.js";
export {
  anthropicErrorBody,
  FakeAnthropic,
  type FakeAnthropicOptions,
  startFakeAnthropic,
} from "./fake-anthropic.js";
export { FakeOpenAI, type FakeOpenAIOptions, openAIErrorBody, startFakeOpenAI } from "./fake-openai.js";
export {
  FakeUpstream,
  type FakeUpstreamEvents,
  type FakeUpstreamOptions,
  type ScenarioOf,
  type Script,
} from "./fake-upstream.js";
export type { OpenAIAnswer, OpenAIFlavour, OpenAIPlan, OpenAIToolCall } from "./openai-format.js";
export { DEFAULT_TOOL_CALLS, TOOL_CALL_FRAGMENTS } from "./openai-format.js";
export type { CommonScenario, ErrorScenario, Pacing, RecordedRequest, Reply } from "./scenario.js";
export { countWords, DEFAULT_TEXT, promptTokens, tokenize } from "./text.js";
export { trustingAgent, trustingFetch } from "./trust.js";
