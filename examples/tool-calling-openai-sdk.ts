// The same agent loop with the official OpenAI SDK, through the gateway's OpenAI-compatible API:
// any model the gateway routes (an Anthropic one too) answers in OpenAI's shape.
// Run: npx tsx examples/tool-calling-openai-sdk.ts [url] [model]
import OpenAI from "openai";
import type { ChatCompletionMessageParam, ChatCompletionTool } from "openai/resources/chat/completions";

const [url = "http://127.0.0.1:8080", model = "demo"] = process.argv.slice(2);
const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused-by-the-demo" });

const city = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
const tools: ChatCompletionTool[] = [
  {
    type: "function",
    function: { name: "get_weather", description: "The weather in a city now", parameters: city },
  },
  {
    type: "function",
    function: { name: "get_time", description: "The local time in a city", parameters: city },
  },
];
const run: Record<string, (args: { city: string }) => string> = {
  get_weather: ({ city }) => JSON.stringify({ city, celsius: 21 }),
  get_time: ({ city }) => JSON.stringify({ city, time: "14:05" }),
};

const messages: ChatCompletionMessageParam[] = [
  { role: "user", content: "What is the weather and time in Paris?" },
];
for (let turn = 1; turn <= 4; turn++) {
  const completion = await openai.chat.completions.create({ model, messages, tools, max_tokens: 32 });
  const { message, finish_reason } = completion.choices[0] ?? {};
  if (message === undefined || finish_reason !== "tool_calls") {
    console.log(`Answer: ${message?.content}`);
    break;
  }
  messages.push(message);
  for (const call of message.tool_calls ?? []) {
    if (call.type !== "function") continue;
    const result = run[call.function.name]?.(JSON.parse(call.function.arguments)) ?? "unknown tool";
    console.log(`Tool call: ${call.function.name}(${call.function.arguments}) -> ${result}`);
    messages.push({ role: "tool", tool_call_id: call.id, content: result });
  }
}
