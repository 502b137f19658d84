import { readFileSync } from "node:fs";
import { Agent as HttpAgent } from "node:http";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Pool } from "undici";
import {
  GatewayService,
  GenerateRequestSchema,
  GenerateResponseSchema,
  type GenerateStreamResponse,
  GenerateStreamResponseSchema,
} from "../gen/weaver/gateway/v1/gateway_pb.js";
import { GrpcH2Client } from "./grpc-h2-client.js";
import type { LoadJob } from "./job.js";

/** One call: resolves with the time of its first text delta (streams), rejects on any failure. */
export type Call = (index: number) => Promise<{ firstDeltaAt?: number; deltas?: number }>;

/** A connection kept across jobs, as a long-lived client would, and closed at exit. */
interface Connection {
  call(job: LoadJob): Call;
  close(): void;
}

const connections = new Map<string, Connection>();

export function callFor(job: LoadJob): Call {
  const key = `${job.protocol} ${job.target} ${job.streamsPerConnection ?? 100} ${JSON.stringify(job.headers)}`;
  let connection = connections.get(key);
  if (connection === undefined) {
    connection = job.protocol === "direct" || job.protocol === "openai" ? openaiApi(job) : gateway(job);
    connections.set(key, connection);
  }
  return connection.call(job);
}

export function closeAll(): void {
  for (const connection of connections.values()) connection.close();
  connections.clear();
}

function prompt(index: number) {
  return [{ role: "user", content: `bench request ${index}` }];
}

function gateway(job: LoadJob): Connection {
  return job.protocol === "grpc" ? grpcGateway(job) : connectGateway(job);
}

/** gRPC over h2c with the lean client, so the generator's own CPU is not what saturates. */
function grpcGateway(job: LoadJob): Connection {
  const client = new GrpcH2Client(job.target);
  const service = `/${GatewayService.typeName}`;
  const request = (i: number, maxTokens: number, model: string) =>
    toBinary(GenerateRequestSchema, create(GenerateRequestSchema, { model, messages: prompt(i), maxTokens }));
  return {
    close: () => client.close(),
    call: ({ rpc, maxTokens, model = "demo", samePrompt = false }) =>
      rpc === "generate"
        ? async (i) => {
            let text = "";
            await client.call(
              `${service}/Generate`,
              request(samePrompt ? 0 : i, maxTokens, model),
              GenerateResponseSchema,
              (m) => {
                text = m.text;
              },
            );
            if (text === "") throw new Error("empty completion");
            return {};
          }
        : async (i) => {
            const tally = new StreamTally();
            const path = `${service}/GenerateStream`;
            await client.call(path, request(i, maxTokens, model), GenerateStreamResponseSchema, (m) =>
              tally.see(m),
            );
            return tally.result();
          },
  };
}

/** Connect with JSON over HTTP/1.1 keep-alive: the browser-style caller. */
function connectGateway(job: LoadJob): Connection {
  const agent = new HttpAgent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  const transport = createConnectTransport({
    baseUrl: job.target,
    httpVersion: "1.1",
    useBinaryFormat: false,
    nodeOptions: { agent },
  });
  const client = createClient(GatewayService, transport);
  return {
    close: () => agent.destroy(),
    call: ({ rpc, maxTokens }) =>
      rpc === "generate"
        ? async (i) => {
            const response = await client.generate({ model: "demo", messages: prompt(i), maxTokens });
            if (response.text === "") throw new Error("empty completion");
            return {};
          }
        : async (i) => {
            const tally = new StreamTally();
            const stream = client.generateStream({ model: "demo", messages: prompt(i), maxTokens });
            for await (const message of stream) tally.see(message);
            return tally.result();
          },
  };
}

/** A GenerateStream's messages as they arrive: when the first delta came, how many, and whether it finished. */
class StreamTally {
  private firstDeltaAt: number | undefined;
  private deltas = 0;
  private finished = false;

  see(message: GenerateStreamResponse): void {
    if (message.event.case === "delta") {
      this.firstDeltaAt ??= performance.now();
      this.deltas++;
    } else if (message.event.case === "finish") this.finished = true;
  }

  result(): { firstDeltaAt?: number; deltas: number } {
    if (!this.finished) throw new Error("stream ended without a finish event");
    return { firstDeltaAt: this.firstDeltaAt, deltas: this.deltas };
  }
}

/**
 * OpenAI chat completions. `direct`: the request the gateway would send, straight to the upstream,
 * with the gateway's HTTP client and pool size (TLS HTTP/2). `openai`: HTTP/1.1, one connection per
 * call in flight, as an OpenAI SDK calls a gateway's OpenAI API (or the upstream's, as a baseline).
 */
function openaiApi(job: LoadJob): Connection {
  const pool = new Pool(job.target, {
    ...(job.protocol === "direct"
      ? {
          allowH2: true,
          connections: 4,
          h2Options: { maxConcurrentStreams: job.streamsPerConnection ?? 100 },
        }
      : // Idle connections stay between jobs, as a long-lived client's (or as long as the server's keep-alive hint).
        { allowH2: false, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 }),
    connect: job.caFile === undefined ? {} : { ca: readFileSync(job.caFile, "utf8") },
  });
  const headers = { "content-type": "application/json", accept: "application/json", ...job.headers };
  const body = (i: number, maxTokens: number, model: string, stream: boolean) =>
    JSON.stringify({
      model,
      messages: prompt(i),
      max_tokens: maxTokens,
      ...(stream ? { stream } : {}),
    });
  return {
    close: () => void pool.destroy(),
    call: ({ rpc, maxTokens, model = "demo" }) =>
      rpc === "generate"
        ? async (i) => {
            const response = await pool.request({
              path: "/v1/chat/completions",
              method: "POST",
              headers,
              body: body(i, maxTokens, model, false),
            });
            const json = (await response.body.json()) as { choices?: { message?: { content?: string } }[] };
            if (response.statusCode !== 200 || !json.choices?.[0]?.message?.content) {
              throw new Error(`${job.target} answered ${response.statusCode}`);
            }
            return {};
          }
        : async (i) => {
            const response = await pool.request({
              path: "/v1/chat/completions",
              method: "POST",
              headers,
              body: body(i, maxTokens, model, true),
            });
            if (response.statusCode !== 200) {
              throw new Error(
                `${job.target} answered ${response.statusCode}: ${(await response.body.text()).slice(0, 200)}`,
              );
            }
            let firstDeltaAt: number | undefined;
            let deltas = 0;
            let done = false;
            let pending = "";
            for await (const chunk of response.body) {
              // Only whole SSE events are read; an event split across chunks waits for its end.
              pending += String(chunk);
              const end = pending.lastIndexOf("\n\n");
              if (end < 0) continue;
              const events = pending.slice(0, end);
              pending = pending.slice(end + 2);
              const found = countContentDeltas(events);
              if (found > 0) firstDeltaAt ??= performance.now();
              deltas += found;
              if (events.includes("data: [DONE]")) done = true;
            }
            if (!done) throw new Error("stream ended without [DONE]");
            return { firstDeltaAt, deltas };
          },
  };
}

/**
 * Deltas with text in whole OpenAI SSE events (the opening role-only delta has none). Counting
 * markers is enough here and far cheaper than parsing every event.
 */
function countContentDeltas(text: string): number {
  const marker = '"delta":{"content":"';
  let count = 0;
  for (let at = text.indexOf(marker); at >= 0; at = text.indexOf(marker, at + marker.length)) {
    if (text[at + marker.length] !== '"') count++;
  }
  return count;
}
