/**
 * A project outside the source tree that uses the installed @weaver-gateway/client: its tsconfig and
 * its code. Text here, not .ts files of this repository, because the package only resolves once it
 * is installed. Its only dependency is the client: the types of Node come from `typeRoots`.
 */
export function consumerFiles(typeRoots: string): Record<string, string> {
  return {
    "tsconfig.json": JSON.stringify({
      compilerOptions: {
        target: "ES2023",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        typeRoots: [typeRoots],
        types: ["node"],
        strict: true,
        skipLibCheck: true,
        outDir: "out",
      },
      include: ["consumer.ts"],
    }),
    "consumer.ts": CONSUMER,
  };
}

/**
 * `node out/consumer.js URL TRANSPORT...` prints one JSON line a transport: which entry of the
 * package Node chose (`--conditions=browser` picks the browser's), the answer, the stream and the
 * code of a failing call, or the error that stopped it; then where the .proto resolves.
 */
const CONSUMER = `
import { Code, ConnectError, createGatewayClient, type GatewayTransport } from "@weaver-gateway/client";

const [baseUrl = "http://127.0.0.1:8080", ...transports] = process.argv.slice(2) as [string, ...GatewayTransport[]];
const entry = import.meta.resolve("@weaver-gateway/client").split("/").pop();
const messages = [{ role: "user", content: "hello from outside the tree" }];

for (const transport of transports) {
  try {
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
    console.log(JSON.stringify({ entry, transport, text: reply.text, streamed, missingModel }));
  } catch (error) {
    console.log(JSON.stringify({ entry, transport, error: String(error) }));
  }
}
console.log(JSON.stringify({ proto: import.meta.resolve("@weaver-gateway/client/proto/weaver/gateway/v1/gateway.proto") }));
`;
