import { Writable } from "node:stream";
import { parseConfig } from "../../src/config/load-config.js";
import type { DemoUpstream } from "../../src/demo/demo-upstream.js";
import { type Gateway, startGateway } from "../../src/gateway.js";
import { createLogger } from "../../src/log/logger.js";

export interface TestGateway {
  gateway: Gateway;
  /** e.g. http://127.0.0.1:40111 */
  url: string;
  /** The embedded demo upstream of the provider named "demo". */
  demo: DemoUpstream;
  /** Every log line the gateway wrote, parsed. */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  /** Settings of the demo provider, e.g. { inter_token_delay: "20ms" }. */
  demo?: Record<string, unknown>;
  /** Default pool settings, e.g. { pooling: false }. */
  pool?: Record<string, unknown>;
  /** Server settings beside host and port. */
  server?: Record<string, unknown>;
  /** The config's `keys` section. */
  keys?: unknown[];
  /** The config's `store` section. */
  store?: Record<string, unknown>;
  /** The demo deployment's price, USD per million tokens. */
  price?: { input: number; output: number };
}

/** Starts a real gateway on an ephemeral loopback port, serving model "demo" from its demo upstream. */
export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const config = parseConfig({
    server: { host: "127.0.0.1", port: 0, drain_timeout: "5s", ...options.server },
    pool: options.pool ?? {},
    providers: { demo: { type: "demo", ...options.demo } },
    models: {
      demo: {
        aliases: ["demo-alias"],
        deployments: [
          { provider: "demo", model: "demo", ...(options.price ? { price: options.price } : {}) },
        ],
      },
    },
    ...(options.keys ? { keys: options.keys } : {}),
    ...(options.store ? { store: options.store } : {}),
  });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const gateway = await startGateway(config, { logger: createLogger({ LOG_LEVEL: "info" }, sink), env: {} });
  return {
    gateway,
    url: gateway.url,
    demo: gateway.demoUpstreams.byProvider.get("demo") as DemoUpstream,
    logs,
    close: () => gateway.close(),
  };
}
