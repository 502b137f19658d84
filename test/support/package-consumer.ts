/**
 * A project outside the source tree that depends on the packed weaver-gateway. Its code is text
 * here, not a .ts file of this repository, because "weaver-gateway/client" only resolves once the
 * package is installed.
 */
export const CONSUMER_FILES: Record<string, string> = {
  "package.json": JSON.stringify({
    name: "weaver-gateway-consumer",
    private: true,
    type: "module",
    dependencies: { "weaver-gateway": "file:weaver-gateway.tgz" },
  }),
  "tsconfig.json": JSON.stringify({
    compilerOptions: {
      target: "ES2023",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      types: ["node"],
      strict: true,
      skipLibCheck: true,
      outDir: "out",
    },
    include: ["consumer.ts"],
  }),
  "consumer.ts": `
import { Code, ConnectError, createGatewayClient, type GatewayTransport } from "weaver-gateway/client";

const [baseUrl = "http://127.0.0.1:8080"] = process.argv.slice(2);
const messages = [{ role: "user", content: "hello from outside the tree" }];
const transports: GatewayTransport[] = ["grpc", "connect", "grpc-web"];

for (const transport of transports) {
  const client = createGatewayClient({ baseUrl, transport, apiKey: "consumer-key", timeoutMs: 10_000 });
  const reply = await client.generate({ model: "demo", messages, maxTokens: 8 });
  let streamed = "";
  for await (const { event } of client.generateStream({ model: "demo", messages, maxTokens: 8 })) {
    if (event.case === "delta") streamed += event.value.text;
  }
  let missingModel = "";
  try {
    await client.generate({ model: "no-such-model", messages });
  } catch (error) {
    if (error instanceof ConnectError) missingModel = Code[error.code];
  }
  console.log(JSON.stringify({ transport, text: reply.text, streamed, missingModel }));
}
console.log(JSON.stringify({ proto: import.meta.resolve("weaver-gateway/proto/weaver/gateway/v1/gateway.proto") }));
`,
};
