// Calls weaver-gateway with @grpc/grpc-js, loading the .proto at run time (no generated code).
// Run: npx tsx examples/grpc-js-client.ts [url] [model]
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { credentials, loadPackageDefinition } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";

const [url = "http://127.0.0.1:8080", model = "demo"] = process.argv.slice(2);

const definition = loadSync("weaver/gateway/v1/gateway.proto", {
  includeDirs: [fileURLToPath(new URL("../proto/", import.meta.url))],
});
// biome-ignore lint/suspicious/noExplicitAny: proto-loader builds the client at run time, so it has no static type.
const { GatewayService } = (loadPackageDefinition(definition) as any).weaver.gateway.v1;
// grpc-js takes host:port; the gateway speaks cleartext HTTP/2 on the same port as HTTP/1.1.
const client = new GatewayService(new URL(url).host, credentials.createInsecure());
const messages = [{ role: "user", content: "Why pool connections?" }];

// One request, one response.
const reply = await promisify(client.generate.bind(client))({ model, messages, maxTokens: 16 });
console.log(`Generate: ${reply.text}`);

// The same request as a stream: each message holds one of start, delta or finish.
process.stdout.write("GenerateStream: ");
for await (const { delta, finish } of client.generateStream({ model, messages, maxTokens: 16 })) {
  if (delta) process.stdout.write(delta.text);
  if (finish) {
    const { usage, upstream } = finish;
    console.log(`\n(${usage.outputTokens} tokens, upstream connection reused: ${upstream.connectionReused})`);
  }
}

// How often the gateway sent a request over an already open upstream connection.
const stats = await promisify(client.poolStats.bind(client))({});
console.log(`Upstream connection reuse rate: ${(stats.totals.reuseRate * 100).toFixed(1)}%`);
client.close();
