import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, startRedisServer } from "../../bench/redis-server.js";
import { GatewayService } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { keyHash, newCallerKey } from "../../src/access/caller-keys.js";
import { errorOf } from "../support/error-of.js";
import { type GatewayProcess, spawnGateway } from "../support/gateway-process.js";
import { startTestGateway, type TestGateway } from "../support/test-gateway.js";

// Quotas and usage held in one real redis-server, shared by two gateway processes as replicas
// behind a load balancer would; and what a gateway does while its Redis is gone.
const LIMIT = 5;
const KEYS = { limited: newCallerKey(), ops: newCallerKey() };
const PRICE = { input: 3, output: 7 };
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const client = (url: string) => createClient(GatewayService, createGrpcTransport({ baseUrl: url }));
const call = { model: "demo", messages: [{ role: "user", content: "count me" }] };

const keysConfig = [
  { name: "limited", sha256: keyHash(KEYS.limited), limits: { requests_per_minute: LIMIT } },
  { name: "ops", sha256: keyHash(KEYS.ops), roles: ["admin"] },
];

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

describe("two replicas sharing one Redis", () => {
  const replicas: GatewayProcess[] = [];
  beforeAll(async () => {
    const config = {
      server: { host: "127.0.0.1", port: 0 },
      providers: { demo: { type: "demo" } },
      models: { demo: { deployments: [{ provider: "demo", model: "demo", price: PRICE }] } },
      keys: keysConfig,
      store: { redis: { url: redis.url, key_prefix: "replicas:" } },
    };
    replicas.push(...(await Promise.all([spawnGateway(config), spawnGateway(config)])));
  });
  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.dispose()));
  });

  it("refuse a key's (N+1)th request per minute whichever replica serves it, and report the same usage from either", async () => {
    await awayFromMinuteEnd();
    const [a, b] = replicas.map((replica) => client(replica.url)) as [
      ReturnType<typeof client>,
      ReturnType<typeof client>,
    ];
    let input = 0;
    let output = 0;
    for (let i = 0; i < LIMIT; i++) {
      const reply = await (i % 2 === 0 ? a : b).generate(call, { headers: bearer(KEYS.limited) });
      input += reply.usage?.inputTokens ?? 0;
      output += reply.usage?.outputTokens ?? 0;
    }
    for (const replica of [a, b]) {
      const refused = await errorOf(replica.generate(call, { headers: bearer(KEYS.limited) }));
      expect(refused.code).toBe(Code.ResourceExhausted);
      expect(refused.metadata.get("x-ratelimit-remaining-requests")).toBe("0");
    }
    const [fromA, fromB] = await Promise.all(
      [a, b].map((replica) => replica.getUsage({}, { headers: bearer(KEYS.ops) })),
    );
    expect(fromA?.rows).toEqual(fromB?.rows);
    expect(fromA?.rows).toHaveLength(1);
    const row = fromA?.rows[0];
    expect(row).toMatchObject({
      key: "limited",
      model: "demo",
      requests: BigInt(LIMIT),
      inputTokens: BigInt(input),
      outputTokens: BigInt(output),
    });
    expect(row?.costUsd).toBeCloseTo((input * PRICE.input + output * PRICE.output) / 1e6, 12);
  });

  it("write no key to either replica's log", async () => {
    for (const replica of replicas) {
      // Lines are written in batches, at most 200 ms apart.
      await replica.waitForLog((line) => line.key === "limited" && line.code === "resource_exhausted");
      const log = JSON.stringify(replica.logs) + replica.stderr();
      expect(log).toContain('"key":"limited"');
      for (const key of Object.values(KEYS)) expect(log).not.toContain(key);
    }
  });
});

describe("while Redis cannot be reached", () => {
  let gone: RedisServer;
  let open: TestGateway;
  let closed: TestGateway;
  beforeAll(async () => {
    gone = await startRedisServer();
    const store = (when_unreachable: string) => ({
      redis: { url: gone.url, timeout: "200ms", when_unreachable },
    });
    [open, closed] = await Promise.all([
      startTestGateway({ keys: keysConfig, store: store("open") }),
      startTestGateway({ keys: keysConfig, store: store("closed") }),
    ]);
    await gone.stop();
  });
  afterAll(async () => {
    await Promise.all([open?.close(), closed?.close(), gone?.stop()]);
  });

  it("serves calls without quotas when open, with a warning and weaver_store_errors_total, and refuses them UNAVAILABLE when closed", async () => {
    const started = performance.now();
    const reply = await client(open.url).generate(call, { headers: bearer(KEYS.limited) });
    expect(reply.text.length).toBeGreaterThan(0);
    // Bounded by the store's timeout (and one reconnect attempt), never by a hung Redis.
    expect(performance.now() - started).toBeLessThan(5_000);
    const metrics = await (await fetch(`${open.url}/metrics`)).text();
    expect(metrics).toMatch(/weaver_store_errors_total\{operation="admit"\} [1-9]/);
    expect(
      open.logs.some((line) => line.level === "warn" && String(line.msg).includes("shared store failed")),
    ).toBe(true);
    const refused = await errorOf(client(closed.url).generate(call, { headers: bearer(KEYS.limited) }));
    expect(refused).toMatchObject({ code: Code.Unavailable });
    expect(refused.metadata.get("weaver-error-reason")).toBe("STORE_UNREACHABLE");
  });

  it("counts again once Redis is back", async () => {
    gone = await startRedisServer({ port: gone.port });
    await expect
      .poll(
        async () => {
          const headers = new Headers();
          await client(closed.url).generate(call, {
            headers: bearer(KEYS.limited),
            onHeader: (received) => {
              for (const [name, value] of received) headers.set(name, value);
            },
          });
          return headers.get("x-ratelimit-limit-requests");
        },
        { timeout: 10_000, interval: 500 },
      )
      .toBe(String(LIMIT));
  });
});

/** Quotas count per calendar minute: a test that counts calls starts well inside one. */
async function awayFromMinuteEnd(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 10_000) await new Promise((resolve) => setTimeout(resolve, left + 100));
}
