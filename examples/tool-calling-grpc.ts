// An agent loop over gRPC with @weaver-gateway/client: the model asks for tools, we run them and
// send their results back, and it answers. Against the demo model, which calls every tool it is offered.
// Run: npx tsx --conditions=@weaver-gateway/source examples/tool-calling-grpc.ts [url] [model]
import type { MessageInitShape } from "@bufbuild/protobuf";
import { createGatewayClient, FinishReason, type MessageSchema } from "@weaver-gateway/client";

const [baseUrl = "http://127.0.0.1:8080", model = "demo"] = process.argv.slice(2);
const client = createGatewayClient({ baseUrl, transport: "grpc" });

const tools = [
  {
    name: "get_weather",
    description: "The weather in a city now",
    parametersJson: JSON.stringify({
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
    }),
  },
  {
    name: "get_time",
    description: "The local time in a city",
    parametersJson: JSON.stringify({
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
    }),
  },
];
// Our side of the tools: what each returns for its arguments.
const run: Record<string, (args: { city: string }) => string> = {
  get_weather: ({ city }) => JSON.stringify({ city, celsius: 21 }),
  get_time: ({ city }) => JSON.stringify({ city, time: "14:05" }),
};

const messages: MessageInitShape<typeof MessageSchema>[] = [
  { role: "user", content: "What is the weather and time in Paris?" },
];
for (let turn = 1; turn <= 4; turn++) {
  const reply = await client.generate({ model, messages, tools, maxTokens: 32 });
  if (reply.finishReason !== FinishReason.TOOL_CALLS) {
    console.log(`Answer: ${reply.text}`);
    break;
  }
  // The model's turn goes back as it came, then one tool turn per call.
  messages.push({
    role: "assistant",
    content: reply.text,
    toolCalls: reply.toolCalls,
    reasoning: reply.reasoning,
  });
  for (const call of reply.toolCalls) {
    const result = run[call.name]?.(JSON.parse(call.arguments)) ?? `unknown tool ${call.name}`;
    console.log(`Tool call: ${call.name}(${call.arguments}) -> ${result}`);
    messages.push({ role: "tool", toolCallId: call.id, content: result });
  }
}
