import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { create } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  type Deployment,
  GatewayService,
  type GenerateRequest,
  GenerateRequestSchema,
  type GenerateStreamRequest,
  GenerateStreamRequestSchema,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { parseConfig } from "../../src/config/load-config.js";
import { type Gateway, startGateway } from "../../src/gateway.js";
import { createLogger } from "../../src/log/logger.js";
import { type FakeOpenAI, type RecordedRequest, startFakeOpenAI } from "./fakes/index.js";

export const ROUTER_TEST_KEY = "sk-router-test-0123456789abcdef";

export interface RouterGatewayOptions<P extends string> {
  /** One fake OpenAI upstream is started per name, and an OpenAI provider of that name sends to it. */
  providers: readonly P[];
  /** The `models:` section, e.g. { chat: { deployments: [{ provider: "a", model: "m" }] } }. */
  models: Record<string, unknown>;
  /** The `router:` section, e.g. { strategy: "weighted_random", retry_backoff: "10ms" }. */
  router?: Record<string, unknown>;
  /** Default pool settings. */
  pool?: Record<string, unknown>;
}

export interface RouterGateway<P extends string = string> {
  gateway: Gateway;
  /** The fake upstream behind each provider, by provider name. */
  fakes: Record<P, FakeOpenAI>;
  /** The chat completion requests provider `name`'s fake received, in order. */
  calls(name: P): RecordedRequest[];
  client: Client<typeof GatewayService>;
  /** Every log line the gateway wrote (level info and up), parsed. */
  logs: Record<string, unknown>[];
  /** ListModels: the deployments of `model`, keyed by provider name. */
  deployments(model: string): Promise<Partial<Record<P, Deployment>>>;
  close(): Promise<void>;
}

/**
 * Starts fake OpenAI upstreams and a real gateway on an ephemeral loopback port whose models are
 * served by them, each provider trusting its fake's certificate through `ca_file`.
 */
export async function startRouterGateway<const P extends string>(
  options: RouterGatewayOptions<P>,
): Promise<RouterGateway<P>> {
  const dir = mkdtempSync(join(tmpdir(), "weaver-router-test-"));
  const fakes = {} as Record<P, FakeOpenAI>;
  const stop = async () => {
    await Promise.all(Object.values<FakeOpenAI>(fakes).map((fake) => fake.close()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const providers: Record<string, unknown> = {};
    for (const name of options.providers) {
      const fake = await startFakeOpenAI({ apiKey: ROUTER_TEST_KEY });
      fakes[name] = fake;
      const caFile = join(dir, `${name}-ca.pem`);
      writeFileSync(caFile, fake.ca);
      providers[name] = { type: "openai", base_url: `${fake.origin}/v1`, api_key_env: "K", ca_file: caFile };
    }
    const config = parseConfig({
      server: { host: "127.0.0.1", port: 0, drain_timeout: "2s" },
      pool: options.pool ?? {},
      router: options.router ?? {},
      providers,
      models: options.models,
    });
    const logs: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n")) if (line) logs.push(JSON.parse(line));
        done();
      },
    });
    const logger = createLogger({ LOG_LEVEL: "info" }, sink);
    const gateway = await startGateway(config, { logger, env: { K: ROUTER_TEST_KEY } });
    const client = createClient(GatewayService, createGrpcTransport({ baseUrl: gateway.url }));
    return {
      gateway,
      fakes,
      calls: (name) => chatRequests(fakes[name]),
      client,
      logs,
      async deployments(model) {
        const { models } = await client.listModels({});
        const found = models.find((m) => m.name === model);
        if (found === undefined) throw new Error(`ListModels has no model "${model}"`);
        const byProvider = Object.fromEntries(found.deployments.map((d) => [d.provider, d]));
        return byProvider as Partial<Record<P, Deployment>>;
      },
      async close() {
        await gateway.close();
        await stop();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The chat completion requests a fake received: the pool's warm-up requests left out. */
export function chatRequests(fake: FakeOpenAI): RecordedRequest[] {
  return fake.requests.filter((r) => r.method === "POST" && r.path.startsWith("/v1/chat/completions"));
}

/** A Generate request with one user message. */
export function generateRequest(model: string, content = "Say hello"): GenerateRequest {
  return create(GenerateRequestSchema, { model, messages: [{ role: "user", content }] });
}

/** A GenerateStream request with one user message. */
export function streamRequest(model: string, content = "Say hello"): GenerateStreamRequest {
  return create(GenerateStreamRequestSchema, { model, messages: [{ role: "user", content }] });
}

/** Resolves once `fake` has received `count` chat completion requests in all; rejects after `timeoutMs`. */
export async function waitForCalls(fake: FakeOpenAI, count: number, timeoutMs = 5_000): Promise<void> {
  const received = () => chatRequests(fake).length;
  if (received() >= count) return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      fake.off("request", onRequest);
      reject(new Error(`the fake received ${received()} chat requests, not ${count}, in ${timeoutMs} ms`));
    }, timeoutMs);
    const onRequest = () => {
      if (received() < count) return;
      clearTimeout(timer);
      fake.off("request", onRequest);
      resolve();
    };
    fake.on("request", onRequest);
  });
}

export { errorOf } from "./error-of.js";
