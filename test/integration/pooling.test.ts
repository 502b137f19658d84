import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  GatewayService,
  GenerateRequestSchema,
  type PoolCounters,
  type PoolStatsResponse,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { parseConfig } from "../../src/config/load-config.js";
import type { DemoUpstream } from "../../src/demo/demo-upstream.js";
import { type Gateway, startGateway } from "../../src/gateway.js";
import { createLogger } from "../../src/log/logger.js";
import { runConcurrently } from "../support/run-concurrently.js";
import { startTestGateway, type TestGateway } from "../support/test-gateway.js";

const CALLS = 500;
const CONCURRENCY = 50;
/**
 * A guard against a hang, not a speed bound: 500 TLS handshakes (both ends in this process) take
 * about 4 s on an idle 2-core machine and have taken 28 s on a loaded one.
 */
const LOAD_TEST_TIMEOUT_MS = 120_000;

type GatewayClient = Client<typeof GatewayService>;

function gatewayClient(url: string): GatewayClient {
  // gRPC over one cleartext HTTP/2 session to the gateway, as a real client would use it.
  return createClient(GatewayService, createGrpcTransport({ baseUrl: url }));
}

function generateRequest(model: string, index: number) {
  return create(GenerateRequestSchema, {
    model,
    messages: [{ role: "user", content: `request ${index}` }],
    maxTokens: 8,
  });
}

/** Sends CALLS Generate calls at CONCURRENCY and returns each response's connectionReused. */
async function generateLoad(client: GatewayClient, model = "demo"): Promise<boolean[]> {
  return runConcurrently(CALLS, CONCURRENCY, async (index) => {
    const response = await client.generate(generateRequest(model, index));
    expect(response.upstream?.protocol).toBe("h2");
    return response.upstream?.connectionReused ?? false;
  });
}

async function poolStats(client: GatewayClient): Promise<PoolStatsResponse> {
  return client.poolStats({});
}

function totalsOf(stats: PoolStatsResponse): PoolCounters {
  if (stats.totals === undefined) throw new Error("PoolStats has no totals");
  return stats.totals;
}

/**
 * The operating system's view: TCP sockets of this process (which hosts the in-process gateway)
 * that are ESTABLISHED to `remotePort` on loopback. Sockets are matched by inode against this
 * process's file descriptors, so the demo upstream's accepted ends and other processes don't count.
 */
function establishedSocketsTo(remotePort: number): number {
  const ownInodes = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (match?.[1] !== undefined) ownInodes.add(match[1]);
    } catch {
      // The descriptor closed while the directory was being read.
    }
  }
  const ESTABLISHED = "01";
  let count = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let rows: string[];
    try {
      rows = readFileSync(table, "utf8").trim().split("\n").slice(1);
    } catch {
      continue; // no IPv6 table on this kernel
    }
    for (const row of rows) {
      const [, , remote, state, , , , , , inode] = row.trim().split(/\s+/);
      if (remote === undefined || inode === undefined) continue;
      const port = Number.parseInt(remote.split(":")[1] ?? "", 16);
      if (state === ESTABLISHED && port === remotePort && ownInodes.has(inode)) count++;
    }
  }
  return count;
}

function portOf(origin: string): number {
  return Number(new URL(origin).port);
}

/** Polls `probe` until it returns true or `withinMs` passes; the caller asserts on the outcome. */
async function eventually(probe: () => boolean | Promise<boolean>, withinMs = 10_000): Promise<void> {
  const until = performance.now() + withinMs;
  while (!(await probe()) && performance.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("with pooling (the original design's scenario)", () => {
  let gw: TestGateway;
  let client: GatewayClient;

  beforeAll(async () => {
    // A long keep-alive, so no idle connection expires between PoolStats and the OS count.
    gw = await startTestGateway({ pool: { keepalive_expiry: "1m" } });
    client = gatewayClient(gw.url);
  });
  afterAll(() => gw?.close());

  test("500 Generate calls at concurrency 50 ride at most 2 upstream connections", {
    timeout: LOAD_TEST_TIMEOUT_MS,
  }, async () => {
    // The gateway may already have sent a warm-up request: the load is measured from here.
    const before = totalsOf(await poolStats(client));
    const reused = await generateLoad(client);

    const stats = await poolStats(client);
    const totals = totalsOf(stats);
    const osEstablished = establishedSocketsTo(portOf(gw.demo.origin));

    expect(totals.requestsTotal - before.requestsTotal).toBe(BigInt(CALLS));
    expect(totals.connectionsCreatedTotal).toBeGreaterThanOrEqual(1n);
    expect(totals.connectionsCreatedTotal).toBeLessThanOrEqual(2n);
    expect(totals.reuseRate).toBeGreaterThanOrEqual(0.99);
    expect(totals.connectErrorsTotal).toBe(0n);

    // Only a connection's first request goes out on a fresh socket: one per connection created.
    const freshSocketRequests = (c: PoolCounters) => c.requestsTotal - c.requestsOnReusedConnections;
    expect(freshSocketRequests(totals)).toBe(totals.connectionsCreatedTotal);
    // The responses say the same: the load's only unreused requests are first ones on a new socket.
    const notReused = reused.filter((r) => !r).length;
    expect(BigInt(notReused)).toBe(freshSocketRequests(totals) - freshSocketRequests(before));
    expect(BigInt(notReused)).toBeLessThanOrEqual(totals.connectionsCreatedTotal);

    // The gateway's ledger agrees with what the upstream counted on its own side.
    expect(totals.connectionsCreatedTotal).toBe(BigInt(gw.demo.counts.connectionsAccepted));
    expect(totals.requestsTotal).toBe(BigInt(gw.demo.counts.requestsServed));

    // And with the kernel: the pooled connections are still open, idle, and nothing else is.
    expect(osEstablished).toBeLessThanOrEqual(2);
    expect(osEstablished).toBe(totals.activeConnections);
    expect(totals.inFlight).toBe(0);
    expect(totals.idleConnections).toBe(totals.activeConnections);
  });

  test("2,500 streams in a row keep their connection: a finished stream ends, it is not reset", {
    timeout: LOAD_TEST_TIMEOUT_MS,
  }, async () => {
    // Resetting each stream at its last event would trip the upstream's rapid-reset limit
    // (nghttp2: 1000 resets, then 33 a second) long before the last of these, and the GOAWAY
    // would fail every stream in flight and force a new connection.
    const before = totalsOf(await poolStats(client));
    const accepted = gw.demo.counts.connectionsAccepted;
    const finished = await runConcurrently(2500, 20, async (index) => {
      let finish = false;
      const request = {
        model: "demo",
        messages: [{ role: "user", content: `stream ${index}` }],
        maxTokens: 4,
      };
      for await (const message of client.generateStream(request)) {
        if (message.event.case === "finish") finish = true;
      }
      return finish;
    });
    expect(finished.every(Boolean)).toBe(true);
    const after = totalsOf(await poolStats(client));
    expect(after.connectionsCreatedTotal).toBe(before.connectionsCreatedTotal);
    expect(after.connectErrorsTotal).toBe(0n);
    expect(gw.demo.counts.connectionsAccepted).toBe(accepted);
    expect(gw.demo.counts.streamsReset).toBe(0);
  });
});

describe("without pooling (the baseline)", () => {
  let gw: TestGateway;
  let client: GatewayClient;

  beforeAll(async () => {
    gw = await startTestGateway({ pool: { pooling: false } });
    client = gatewayClient(gw.url);
  });
  afterAll(() => gw?.close());

  test("500 Generate calls open exactly 500 connections and reuse none", {
    timeout: LOAD_TEST_TIMEOUT_MS,
  }, async () => {
    const reused = await generateLoad(client);

    const stats = await poolStats(client);
    const totals = totalsOf(stats);
    expect(totals.requestsTotal).toBe(BigInt(CALLS));
    expect(totals.connectionsCreatedTotal).toBe(BigInt(CALLS));
    expect(totals.requestsOnReusedConnections).toBe(0n);
    expect(totals.reuseRate).toBe(0);
    expect(totals.avgConnectionsPerRequest).toBe(1);
    expect(reused.filter((r) => r)).toEqual([]);

    expect(totals.connectionsCreatedTotal).toBe(BigInt(gw.demo.counts.connectionsAccepted));
    expect(totals.requestsTotal).toBe(BigInt(gw.demo.counts.requestsServed));

    expect(stats.origins).toHaveLength(1);
    expect(stats.origins[0]?.pooling).toBe(false);
    expect(stats.origins[0]?.protocol).toBe("h2");

    // Each one-shot connection is closed once its response is read: none linger, by either count.
    const demoPort = portOf(gw.demo.origin);
    let active = -1;
    let osEstablished = -1;
    await eventually(async () => {
      active = totalsOf(await poolStats(client)).activeConnections;
      osEstablished = establishedSocketsTo(demoPort);
      return active === 0 && osEstablished === 0;
    });
    expect({ active, osEstablished }).toEqual({ active: 0, osEstablished: 0 });
  });
});

describe("PoolStats over two origins", () => {
  let gateway: Gateway;
  let client: GatewayClient;

  beforeAll(async () => {
    // Two demo providers give two upstream origins; one opts out of pooling.
    const config = parseConfig({
      server: { host: "127.0.0.1", port: 0 },
      pool: { keepalive_expiry: "1m" },
      providers: {
        pooled: { type: "demo" },
        unpooled: { type: "demo", pool: { pooling: false } },
      },
      models: {
        fast: { deployments: [{ provider: "pooled", model: "demo" }] },
        fresh: { deployments: [{ provider: "unpooled", model: "demo" }] },
      },
    });
    gateway = await startGateway(config, { logger: createLogger({ LOG_LEVEL: "silent" }), env: {} });
    client = gatewayClient(gateway.url);
  });
  afterAll(() => gateway?.close());

  test("totals are the sum over origins, and each origin says its protocol and pooling", async () => {
    const pooledRequests = 30;
    const unpooledRequests = 12;
    // The pooled origin may have had a warm-up request: its load is measured from here.
    const requestsBefore = new Map(
      (await poolStats(client)).origins.map((o) => [o.origin, o.counters?.requestsTotal ?? 0n]),
    );
    await runConcurrently(pooledRequests, 10, (i) => client.generate(generateRequest("fast", i)));
    await runConcurrently(unpooledRequests, 4, (i) => client.generate(generateRequest("fresh", i)));

    const stats = await poolStats(client);
    const demo = (provider: string) => gateway.demoUpstreams.byProvider.get(provider) as DemoUpstream;
    const byOrigin = new Map(stats.origins.map((o) => [o.origin, o]));
    expect(stats.origins).toHaveLength(2);

    const pooled = byOrigin.get(demo("pooled").origin);
    const unpooled = byOrigin.get(demo("unpooled").origin);
    expect(pooled).toMatchObject({ protocol: "h2", pooling: true });
    expect(unpooled).toMatchObject({ protocol: "h2", pooling: false });
    const requestsSince = (origin: string) =>
      (byOrigin.get(origin)?.counters?.requestsTotal ?? 0n) - (requestsBefore.get(origin) ?? 0n);
    expect(requestsSince(demo("pooled").origin)).toBe(BigInt(pooledRequests));
    expect(requestsSince(demo("unpooled").origin)).toBe(BigInt(unpooledRequests));
    expect(unpooled?.counters?.requestsTotal).toBe(BigInt(unpooledRequests));
    expect(unpooled?.counters?.connectionsCreatedTotal).toBe(BigInt(unpooledRequests));
    for (const provider of ["pooled", "unpooled"]) {
      const { counters: own } = byOrigin.get(demo(provider).origin) ?? {};
      expect(own?.connectionsCreatedTotal).toBe(BigInt(demo(provider).counts.connectionsAccepted));
      expect(own?.requestsTotal).toBe(BigInt(demo(provider).counts.requestsServed));
    }

    const counters = stats.origins.map((o) => o.counters as PoolCounters);
    const totals = totalsOf(stats);
    const sum = (key: keyof PoolCounters) =>
      counters.reduce((acc, c) => acc + BigInt(c[key] as bigint | number), 0n);
    for (const key of [
      "requestsTotal",
      "connectionsCreatedTotal",
      "requestsOnReusedConnections",
      "activeConnections",
      "idleConnections",
      "inFlight",
      "queued",
      "connectErrorsTotal",
      "tlsSessionsResumedTotal",
      "connectTimeCount",
    ] as const) {
      expect(BigInt(totals[key]), key).toBe(sum(key));
    }
    // Ratios come from the summed counts, not from averaging the origins' ratios.
    const requests = Number(totals.requestsTotal);
    expect(totals.reuseRate).toBeCloseTo(Number(totals.requestsOnReusedConnections) / requests, 12);
    expect(totals.avgConnectionsPerRequest).toBeCloseTo(
      Number(totals.connectionsCreatedTotal) / requests,
      12,
    );
    expect(totals.connectTimeSumMs).toBeCloseTo(
      counters.reduce((acc, c) => acc + c.connectTimeSumMs, 0),
      6,
    );
    expect(totals.connectTimeMaxMs).toBe(Math.max(...counters.map((c) => c.connectTimeMaxMs)));
  });
});
