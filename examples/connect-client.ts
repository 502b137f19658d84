// Calls weaver-gateway over gRPC with its typed client, @weaver-gateway/client (packages/client).
// Run: npx tsx --conditions=@weaver-gateway/source examples/connect-client.ts [url] [model]
import { createGatewayClient } from "@weaver-gateway/client";

const [baseUrl = "http://127.0.0.1:8080", model = "demo"] = process.argv.slice(2);
const client = createGatewayClient({ baseUrl, transport: "grpc" });
const messages = [{ role: "user", content: "Why pool connections?" }];

// One request, one response.
const reply = await client.generate({ model, messages, maxTokens: 16 });
console.log(`Generate: ${reply.text}`);

// The same request as a stream: print each piece of text as it arrives.
process.stdout.write("GenerateStream: ");
for await (const { event } of client.generateStream({ model, messages, maxTokens: 16 })) {
  if (event.case === "delta") process.stdout.write(event.value.text);
  if (event.case === "finish") {
    const { usage, upstream } = event.value;
    console.log(
      `\n(${usage?.outputTokens} tokens, upstream connection reused: ${upstream?.connectionReused})`,
    );
  }
}

// How often the gateway sent a request over an already open upstream connection.
const stats = await client.poolStats({});
console.log(`Upstream connection reuse rate: ${((stats.totals?.reuseRate ?? 0) * 100).toFixed(1)}%`);
