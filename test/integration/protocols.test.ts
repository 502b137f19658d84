import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { fromJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  FinishReason,
  GatewayService,
  GenerateRequestSchema,
  type GenerateResponse,
  GenerateResponseSchema,
  GenerateStreamRequestSchema,
  type GenerateStreamResponse,
  GenerateStreamResponseSchema,
  type ListModelsResponse,
  ListModelsResponseSchema,
  type PoolStatsResponse,
  PoolStatsResponseSchema,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { demoTokens } from "../../src/demo/demo-text.js";
import {
  createGrpcJsGatewayClient,
  type GrpcJsGatewayClient,
  type GrpcJsMessage,
} from "../support/grpc-js-client.js";
import { startTestGateway, type TestGateway } from "../support/test-gateway.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SERVICE = "weaver.gateway.v1.GatewayService";
const execFileAsync = promisify(execFile);

const PROMPT = "every protocol gets the same answer";
const MAX_TOKENS = 12;
/** Generate and GenerateStream take the same fields, so one request serves both. */
const REQUEST: JsonObject = {
  model: "demo",
  messages: [{ role: "user", content: PROMPT }],
  maxTokens: MAX_TOKENS,
};
/** The demo upstream's text is a function of the prompt, so every client must get exactly this. */
const EXPECTED_TEXT = demoTokens(PROMPT, MAX_TOKENS).join("");

/** How the gateway's log line describes an RPC's wire. */
interface Wire {
  protocol: "grpc" | "grpc-web" | "connect";
  http: "1.1" | "2.0";
}

/** One way of calling the gateway; answers come back as the generated types so all are checked alike. */
interface Caller {
  generate(request: JsonObject): Promise<GenerateResponse>;
  generateStream(request: JsonObject): Promise<GenerateStreamResponse[]>;
  poolStats(): Promise<PoolStatsResponse>;
  listModels(): Promise<ListModelsResponse>;
  close?(): void;
}

interface ClientCase {
  name: string;
  wire: Wire;
  open(url: string): Caller;
}

function connectEsCaller(transport: Transport): Caller {
  const client = createClient(GatewayService, transport);
  return {
    generate: (request) => client.generate(fromJson(GenerateRequestSchema, request)),
    generateStream: (request) =>
      collect(client.generateStream(fromJson(GenerateStreamRequestSchema, request))),
    poolStats: () => client.poolStats({}),
    listModels: () => client.listModels({}),
  };
}

function grpcJsCaller(url: string): Caller {
  const client = createGrpcJsGatewayClient(url);
  return {
    generate: async (request) =>
      fromJson(GenerateResponseSchema, asJson(await client.unary("generate", request))),
    generateStream: async (request) =>
      (await client.serverStream("generateStream", request)).map((event) =>
        fromJson(GenerateStreamResponseSchema, asJson(event)),
      ),
    poolStats: async () => {
      // proto-loader leaves a Timestamp as {seconds, nanos}; its JSON form is an RFC 3339 string.
      const { startedAt, ...stats } = await client.unary("poolStats", {});
      const { seconds, nanos = 0 } = startedAt as { seconds: string; nanos?: number };
      const startedAtJson = new Date(Number(seconds) * 1000 + nanos / 1e6).toISOString();
      return fromJson(PoolStatsResponseSchema, asJson({ ...stats, startedAt: startedAtJson }));
    },
    listModels: async () => fromJson(ListModelsResponseSchema, asJson(await client.unary("listModels", {}))),
    close: () => client.close(),
  };
}

/** The `buf curl` CLI, which prints each response message as a JSON object. */
function bufCurlCaller(url: string, protocol: "grpc" | "connect" | "grpcweb"): Caller {
  const curl = async (method: string, request: JsonObject): Promise<JsonValue[]> => {
    const args = ["curl", "--schema", "proto", "--protocol", protocol, "-d", JSON.stringify(request)];
    // Plain http means HTTP/1.1 to buf curl unless told otherwise; gRPC needs HTTP/2.
    if (protocol === "grpc") args.push("--http2-prior-knowledge");
    const target = `${url}/${SERVICE}/${method}`;
    const { stdout } = await execFileAsync("node_modules/.bin/buf", [...args, target], { cwd: ROOT });
    // Messages are pretty-printed one after another; only a message's own `{` starts a line.
    return stdout
      .trim()
      .split(/\n(?=\{)/)
      .map((message) => JSON.parse(message) as JsonValue);
  };
  const one = async (method: string, request: JsonObject) => {
    const messages = await curl(method, request);
    expect(messages).toHaveLength(1);
    return messages[0] as JsonValue;
  };
  return {
    generate: async (request) => fromJson(GenerateResponseSchema, await one("Generate", request)),
    generateStream: async (request) =>
      (await curl("GenerateStream", request)).map((event) => fromJson(GenerateStreamResponseSchema, event)),
    poolStats: async () => fromJson(PoolStatsResponseSchema, await one("PoolStats", {})),
    listModels: async () => fromJson(ListModelsResponseSchema, await one("ListModels", {})),
  };
}

const CLIENTS: ClientCase[] = [
  { name: "@grpc/grpc-js", wire: { protocol: "grpc", http: "2.0" }, open: grpcJsCaller },
  {
    name: "connect-node gRPC",
    wire: { protocol: "grpc", http: "2.0" },
    open: (baseUrl) => connectEsCaller(createGrpcTransport({ baseUrl })),
  },
  {
    name: "connect-node Connect over HTTP/1.1",
    wire: { protocol: "connect", http: "1.1" },
    open: (baseUrl) => connectEsCaller(createConnectTransport({ baseUrl, httpVersion: "1.1" })),
  },
  {
    name: "connect-node Connect over HTTP/2",
    wire: { protocol: "connect", http: "2.0" },
    open: (baseUrl) => connectEsCaller(createConnectTransport({ baseUrl, httpVersion: "2" })),
  },
  {
    name: "connect-node gRPC-Web over HTTP/1.1",
    wire: { protocol: "grpc-web", http: "1.1" },
    open: (baseUrl) => connectEsCaller(createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })),
  },
  {
    name: "connect-node gRPC-Web over HTTP/2",
    wire: { protocol: "grpc-web", http: "2.0" },
    open: (baseUrl) => connectEsCaller(createGrpcWebTransport({ baseUrl, httpVersion: "2" })),
  },
  {
    name: "buf curl gRPC",
    wire: { protocol: "grpc", http: "2.0" },
    open: (url) => bufCurlCaller(url, "grpc"),
  },
  {
    name: "buf curl Connect",
    wire: { protocol: "connect", http: "1.1" },
    open: (url) => bufCurlCaller(url, "connect"),
  },
  {
    name: "buf curl gRPC-Web",
    wire: { protocol: "grpc-web", http: "1.1" },
    open: (url) => bufCurlCaller(url, "grpcweb"),
  },
];

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.close());

/** Runs one RPC and checks the gateway logged exactly one line for it. */
async function expectOneLogLine<T>(rpc: () => Promise<T>, expected: Record<string, unknown>): Promise<T> {
  const before = gw.logs.length;
  const result = await rpc();
  const lines = gw.logs.slice(before).filter((line) => line.msg === "rpc");
  expect(lines).toEqual([expect.objectContaining(expected)]);
  return result;
}

describe.each(CLIENTS)("$name", ({ wire, open }) => {
  let caller: Caller;
  beforeAll(() => {
    caller = open(gw.url);
  });
  afterAll(() => caller.close?.());

  test("Generate returns the demo's text for the prompt", async () => {
    const res = await expectOneLogLine(() => caller.generate(REQUEST), {
      method: "Generate",
      ...wire,
      code: "ok",
    });
    expect(res.text).not.toBe("");
    expect(res.text).toBe(EXPECTED_TEXT);
    expect(res.model).toBe("demo");
    expect(res.finishReason).toBe(FinishReason.LENGTH);
    expect(res.usage?.outputTokens).toBe(MAX_TOKENS);
    expect(res.upstream).toMatchObject({ provider: "demo", origin: gw.demo.origin, protocol: "h2" });
  });

  test("GenerateStream sends start, deltas that join to Generate's text, then finish", async () => {
    const events = await expectOneLogLine(() => caller.generateStream(REQUEST), {
      method: "GenerateStream",
      ...wire,
      code: "ok",
    });
    const [first, ...rest] = events.map((e) => e.event);
    const last = rest.pop();
    expect(first).toMatchObject({ case: "start", value: { model: "demo" } });
    const deltas = rest.flatMap((event) => (event.case === "delta" ? [event.value.text] : []));
    expect(deltas.length).toBeGreaterThanOrEqual(1);
    expect(deltas).toHaveLength(rest.length);
    expect(deltas.join("")).toBe(EXPECTED_TEXT);
    expect(last?.case).toBe("finish");
    if (last?.case !== "finish") return;
    expect(last.value.finishReason).toBe(FinishReason.LENGTH);
    expect(last.value.usage).toMatchObject({ outputTokens: MAX_TOKENS });
    expect(last.value.usage?.totalTokens).toBeGreaterThan(MAX_TOKENS);
    expect(last.value.upstream).toMatchObject({ provider: "demo", origin: gw.demo.origin });
  });

  test("PoolStats counts the upstream requests the demo served", async () => {
    const stats = await expectOneLogLine(() => caller.poolStats(), {
      method: "PoolStats",
      ...wire,
      code: "ok",
    });
    const served = BigInt(gw.demo.counts.requestsServed);
    expect(served).toBeGreaterThan(0n);
    expect(stats.totals?.requestsTotal).toBe(served);
    expect(stats.origins).toHaveLength(1);
    expect(stats.origins[0]).toMatchObject({ origin: gw.demo.origin, protocol: "h2", pooling: true });
    expect(stats.origins[0]?.counters?.requestsTotal).toBe(served);
    expect(stats.startedAt?.seconds).toBeGreaterThan(0n);
  });

  test("ListModels lists the demo model with its alias", async () => {
    const list = await expectOneLogLine(() => caller.listModels(), {
      method: "ListModels",
      ...wire,
      code: "ok",
    });
    expect(list.models).toHaveLength(1);
    expect(list.models[0]).toMatchObject({
      name: "demo",
      aliases: ["demo-alias"],
      deployments: [{ provider: "demo", model: "demo", origin: gw.demo.origin }],
    });
  });
});

test("PoolStats answers a plain HTTP GET with JSON (Connect GET)", async () => {
  const res = await expectOneLogLine(
    () => fetch(`${gw.url}/${SERVICE}/PoolStats?encoding=json&message=%7B%7D`),
    { method: "PoolStats", protocol: "connect", http: "1.1", code: "ok" },
  );
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const body = (await res.json()) as { totals?: { requestsTotal?: string; reuseRate?: number } };
  // JSON carries uint64 as a decimal string.
  expect(body.totals?.requestsTotal).toBe(String(gw.demo.counts.requestsServed));
  expect(body.totals?.reuseRate).toBeGreaterThan(0);
});

describe("model names over @grpc/grpc-js", () => {
  const UNKNOWN_MODEL_REQUEST = { model: "no-such-model", messages: [{ role: "user", content: "hi" }] };
  let grpcJs: GrpcJsGatewayClient;
  beforeAll(() => {
    grpcJs = createGrpcJsGatewayClient(gw.url);
  });
  afterAll(() => grpcJs.close());

  test("an unknown model is NOT_FOUND and the message names the known models", async () => {
    const error = await expectOneLogLine(() => rejectionOf(grpcJs.unary("generate", UNKNOWN_MODEL_REQUEST)), {
      method: "Generate",
      protocol: "grpc",
      code: "not_found",
    });
    expect(error.code).toBe(status.NOT_FOUND);
    // grpc-js decodes grpc-message with decodeURI: the gateway must escape only what the gRPC spec says.
    expect(error.details).toContain(
      'model "no-such-model" is not configured; known models: demo, demo-alias',
    );
  });

  test('the alias "demo-alias" routes to "demo", and the response names "demo"', async () => {
    const reply = await grpcJs.unary("generate", { ...REQUEST, model: "demo-alias" });
    expect(reply).toMatchObject({ model: "demo", text: EXPECTED_TEXT, upstream: { provider: "demo" } });
  });
});

async function rejectionOf(call: Promise<unknown>): Promise<ServiceError> {
  return call.then(
    () => expect.unreachable("the call succeeded"),
    (error: ServiceError) => error,
  );
}

async function collect<T>(messages: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const message of messages) all.push(message);
  return all;
}

/** proto-loader's objects hold only JSON values once Timestamps are converted. */
function asJson(message: GrpcJsMessage): JsonValue {
  return message as JsonValue;
}
