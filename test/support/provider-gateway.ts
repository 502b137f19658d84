import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { create } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, expect } from "vitest";
import {
  GatewayService,
  type GenerateRequest,
  GenerateRequestSchema,
  type GenerateStreamRequest,
  GenerateStreamRequestSchema,
  type GenerateStreamResponse,
  type StreamFinish,
  type StreamStart,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { parseConfig } from "../../src/config/load-config.js";
import { type Gateway, startGateway } from "../../src/gateway.js";
import { createLogger } from "../../src/log/logger.js";
import {
  type FakeAnthropic,
  type FakeOpenAI,
  type RecordedRequest,
  startFakeAnthropic,
  startFakeOpenAI,
} from "./fakes/index.js";

export type GatewayClient = Client<typeof GatewayService>;

/** Where a provider sends: a fake's origin, and the certificate to trust (written to a ca_file). */
export interface Upstream {
  origin: string;
  /** PEM; empty or absent leaves ca_file out, so only the system's trust store applies. */
  ca?: string;
}

export interface ProviderSpec {
  /** "openai", "anthropic", "azure-openai", "gemini", "bedrock", or an OpenAI-compatible preset ("groq", ...). */
  type: string;
  /**
   * Its origin becomes where the provider sends (base_url, with `/v1` for OpenAI; an Azure
   * resource's endpoint), its certificate the provider's ca_file.
   */
  upstream: Upstream;
  /** Put in an environment variable named by api_key_env; absent sends no key at all. */
  apiKey?: string;
  /** Any other provider settings: organization, project, auth, version, headers, pool, ... */
  settings?: Record<string, unknown>;
  /** Variables the provider reads besides its key (a Bedrock provider's credentials). */
  env?: Record<string, string>;
}

export interface ProviderGatewayOptions {
  /** Providers by name; each serves `<name>/<model>` (passthrough_models). */
  providers: Record<string, ProviderSpec>;
  /** Default pool settings, e.g. { request_timeout: "300ms" }. */
  pool?: Record<string, unknown>;
  /** Server settings besides the loopback address, e.g. { default_deadline: "300ms" }. */
  server?: Record<string, unknown>;
  /** Configured models, e.g. { agent: { deployments: [{ provider: "anthropic", model: "m" }] } }. */
  models?: Record<string, unknown>;
  /** Caller keys, as the config's `keys` section. */
  keys?: unknown[];
  /** Where quotas and usage live, as the config's `store` section. */
  store?: Record<string, unknown>;
}

export interface ProviderGateway {
  gateway: Gateway;
  /** e.g. http://127.0.0.1:40111 */
  url: string;
  /** A Connect client speaking gRPC to the gateway over one cleartext HTTP/2 session. */
  client: GatewayClient;
  /** Every line the gateway logged (at trace level), as written. */
  logLines: string[];
  close(): Promise<void>;
}

/**
 * Starts a real gateway on an ephemeral loopback port whose providers send to fake upstreams,
 * trusting each fake's certificate through `ca_file` only. Logs are captured at trace level.
 */
export async function startProviderGateway(options: ProviderGatewayOptions): Promise<ProviderGateway> {
  const dir = mkdtempSync(join(tmpdir(), "weaver-provider-test-"));
  const env: NodeJS.ProcessEnv = {};
  const providers: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(options.providers)) {
    const { origin } = spec.upstream;
    const provider: Record<string, unknown> = {
      type: spec.type,
      ...(spec.type === "azure-openai"
        ? { endpoint: origin }
        : { base_url: ["anthropic", "gemini", "bedrock"].includes(spec.type) ? origin : `${origin}/v1` }),
      passthrough_models: true,
      ...spec.settings,
    };
    if (spec.upstream.ca) {
      provider.ca_file = join(dir, `${name}-ca.pem`);
      writeFileSync(provider.ca_file as string, spec.upstream.ca);
    }
    if (spec.apiKey !== undefined) {
      const variable = `WEAVER_TEST_${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_KEY`;
      env[variable] = spec.apiKey;
      provider.api_key_env = variable;
    }
    Object.assign(env, spec.env);
    providers[name] = provider;
  }
  const config = parseConfig({
    server: { host: "127.0.0.1", port: 0, drain_timeout: "2s", ...options.server },
    pool: options.pool ?? {},
    providers,
    ...(options.models ? { models: options.models } : {}),
    ...(options.keys ? { keys: options.keys } : {}),
    ...(options.store ? { store: options.store } : {}),
  });
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  let gateway: Gateway;
  try {
    gateway = await startGateway(config, { logger: createLogger({ LOG_LEVEL: "trace" }, sink), env });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    gateway,
    url: gateway.url,
    client: gatewayClient(gateway.url),
    logLines,
    async close() {
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Connect client speaking gRPC (HTTP/2, cleartext) to a gateway URL. */
/**
 * For a describe block: a fake OpenAI upstream that accepts `key`, and a gateway whose passthrough
 * provider `openai` sends to it; both start before the block's tests and close after them.
 */
export function useFakeOpenAIGateway(
  key: string,
  options: Pick<ProviderGatewayOptions, "server" | "pool"> = {},
): { readonly fake: FakeOpenAI; readonly gw: ProviderGateway } {
  const started = {} as { fake: FakeOpenAI; gw: ProviderGateway };
  beforeAll(async () => {
    started.fake = await startFakeOpenAI({ apiKey: key });
    started.gw = await startProviderGateway({
      providers: { openai: { type: "openai", upstream: started.fake, apiKey: key } },
      ...options,
    });
  });
  afterAll(async () => {
    await started.gw?.close();
    await started.fake?.close();
  });
  return started;
}

/**
 * For a describe block (or a file): a fake OpenAI and a fake Anthropic upstream that accept `key`,
 * and a gateway whose passthrough providers `openai` and `anthropic` send to them.
 */
export function useFakeProvidersGateway(key: string): {
  readonly openai: FakeOpenAI;
  readonly anthropic: FakeAnthropic;
  readonly gw: ProviderGateway;
} {
  const started = {} as { openai: FakeOpenAI; anthropic: FakeAnthropic; gw: ProviderGateway };
  beforeAll(async () => {
    [started.openai, started.anthropic] = await Promise.all([
      startFakeOpenAI({ apiKey: key }),
      startFakeAnthropic({ apiKey: key }),
    ]);
    started.gw = await startProviderGateway({
      providers: {
        openai: { type: "openai", upstream: started.openai, apiKey: key },
        anthropic: { type: "anthropic", upstream: started.anthropic, apiKey: key },
      },
    });
  });
  afterAll(async () => {
    await started.gw?.close();
    await Promise.all([started.openai?.close(), started.anthropic?.close()]);
  });
  return started;
}

export function gatewayClient(url: string): GatewayClient {
  return createClient(GatewayService, createGrpcTransport({ baseUrl: url }));
}

/** Fields of a Generate or GenerateStream request; `messages` defaults to one user turn. */
export interface ChatFields {
  model: string;
  content?: string;
  system?: string;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: readonly string[];
}

function requestInit({ model, content = "Say hello to me", stop = [], ...rest }: ChatFields) {
  return { model, messages: [{ role: "user", content }], stop: [...stop], ...rest };
}

export function generateRequest(fields: ChatFields): GenerateRequest {
  return create(GenerateRequestSchema, requestInit(fields));
}

export function streamRequest(fields: ChatFields): GenerateStreamRequest {
  return create(GenerateStreamRequestSchema, requestInit(fields));
}

/** A whole GenerateStream: its start event, the deltas joined, and its finish event. */
export interface CollectedStream {
  start: StreamStart | undefined;
  deltas: string[];
  text: string;
  finish: StreamFinish | undefined;
  /** Event kinds in arrival order, e.g. ["start", "delta", "delta", "finish"]. */
  order: string[];
}

/** Reads a stream to its end, calling `onDelta` with the count so far; rejects with the stream's error. */
export async function collectStream(
  stream: AsyncIterable<GenerateStreamResponse>,
  onDelta?: (deltasSoFar: number) => void,
): Promise<CollectedStream> {
  const collected: CollectedStream = { start: undefined, deltas: [], text: "", finish: undefined, order: [] };
  for await (const { event } of stream) {
    if (event.case === undefined) continue;
    collected.order.push(event.case);
    if (event.case === "start") collected.start = event.value;
    if (event.case === "finish") collected.finish = event.value;
    if (event.case === "delta") {
      collected.deltas.push(event.value.text);
      onDelta?.(collected.deltas.length);
    }
  }
  collected.text = collected.deltas.join("");
  return collected;
}

export { errorOf } from "./error-of.js";

/** Both transports a provider is tested over: HTTP/2 (ALPN h2), and a fake that offers only HTTP/1.1. */
export const UPSTREAM_PROTOCOLS = [
  { name: "HTTP/2", http1Only: false, protocol: "h2", httpVersion: "2.0" },
  { name: "HTTP/1.1", http1Only: true, protocol: "http/1.1", httpVersion: "1.1" },
];

/** The last request a fake received; fails the test when there was none. */
export function lastRequest(fake: { requests: RecordedRequest[] }): RecordedRequest {
  const request = fake.requests.at(-1);
  if (request === undefined) throw new Error("the fake received no request");
  return request;
}

/**
 * Asserts what PoolStats says of one origin after the calls so far: every one of them (`atLeast`
 * or more) on a single pooled connection, each after the first on it reused.
 */
export async function expectOnePooledConnection(client: GatewayClient, origin: string, atLeast: number) {
  const stats = await client.poolStats({});
  const counters = stats.origins.find((o) => o.origin === origin)?.counters;
  expect(Number(counters?.requestsTotal)).toBeGreaterThanOrEqual(atLeast);
  expect(Number(counters?.connectionsCreatedTotal)).toBe(1);
  expect(Number(counters?.requestsOnReusedConnections)).toBe(Number(counters?.requestsTotal) - 1);
}

/**
 * The OpenAI API's answer for `model`, unary and streamed: the text of each (the stream's deltas
 * joined), and whether the stream ended with `[DONE]`.
 */
export async function openAIApiTexts(
  url: string,
  model: string,
): Promise<{ unary: string | undefined; streamed: string; done: boolean }> {
  const ask = (stream: boolean) =>
    fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model, stream, messages: [{ role: "user", content: "Say hello to me" }] }),
    });
  const unary = (await (await ask(false)).json()) as { choices?: { message?: { content?: string } }[] };
  const body = await (await ask(true)).text();
  const streamed = body
    .split("\n")
    .filter((line) => line.startsWith("data: {"))
    .map((line) => JSON.parse(line.slice(6)).choices?.[0]?.delta?.content ?? "")
    .join("");
  return {
    unary: unary.choices?.[0]?.message?.content,
    streamed,
    done: body.trimEnd().endsWith("data: [DONE]"),
  };
}
