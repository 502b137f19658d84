import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, startRedisServer } from "../../bench/redis-server.js";
import type { GenerateStreamResponse } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { errorOf } from "../support/error-of.js";
import { type FakeOpenAI, startFakeOpenAI } from "../support/fakes/index.js";
import { type GatewayProcess, spawnGateway } from "../support/gateway-process.js";
import { gatewayClient, type ProviderGateway, startProviderGateway } from "../support/provider-gateway.js";

// The response cache and coalescing through a real gateway and a fake OpenAI that counts requests.
const KEY = "sk-upstream-cache";
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const execFileAsync = promisify(execFile);
const PRICE = { input: 2, output: 4 };
let fake: FakeOpenAI;
let gw: ProviderGateway;

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKey: KEY });
  gw = await startProviderGateway({
    providers: { openai: { type: "openai", upstream: fake, apiKey: KEY } },
    models: {
      cached: {
        cache: { ttl: "10m" },
        deployments: [{ provider: "openai", model: "gpt-4o-mini", price: PRICE }],
      },
      plain: { deployments: [{ provider: "openai", model: "gpt-4o-mini", price: PRICE }] },
    },
  });
});
afterAll(async () => {
  await gw?.close();
  await fake?.close();
});

let prompts = 0;
/** A request no other test sends: each test starts from an empty cache. */
const fresh = (model = "cached", extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: "user", content: `cache test ${++prompts}` }],
  ...extra,
});
const poolRequests = async () => Number((await gw.client.poolStats({})).totals?.requestsTotal ?? 0n);

async function collect(stream: AsyncIterable<GenerateStreamResponse>) {
  const texts: string[] = [];
  let finish: GenerateStreamResponse["event"] | undefined;
  for await (const message of stream) {
    if (message.event.case === "delta") texts.push(message.event.value.text);
    if (message.event.case === "finish") finish = message.event;
  }
  return { texts, finish: finish?.case === "finish" ? finish.value : undefined };
}

describe("the response cache", () => {
  it("answers an identical Generate from the cache: no upstream request, upstream.cached, the original usage at cost 0", async () => {
    const request = fresh();
    const first = await gw.client.generate(request);
    const upstreamBefore = fake.requestCount;
    const poolBefore = await poolRequests();
    const second = await gw.client.generate(request);
    expect(fake.requestCount).toBe(upstreamBefore);
    expect(await poolRequests()).toBe(poolBefore);
    expect(first.upstream?.cached).toBe(false);
    expect(second.upstream).toMatchObject({
      cached: true,
      provider: "openai",
      model: "gpt-4o-mini",
      attempts: 0,
    });
    expect(second.text).toBe(first.text);
    expect(second.usage).toMatchObject({
      inputTokens: first.usage?.inputTokens,
      outputTokens: first.usage?.outputTokens,
      costUsd: 0,
    });
    expect(first.usage?.costUsd).toBeGreaterThan(0);
  });

  it("replays a stream's events to a streaming caller, the text split as it came", async () => {
    const request = fresh();
    const original = await collect(gw.client.generateStream(request));
    const before = fake.requestCount;
    const replay = await collect(gw.client.generateStream(request));
    expect(fake.requestCount).toBe(before);
    expect(original.texts.length).toBeGreaterThan(1);
    expect(replay.texts).toEqual(original.texts);
    expect(replay.finish?.upstream?.cached).toBe(true);
    expect(replay.finish?.usage).toMatchObject({
      outputTokens: original.finish?.usage?.outputTokens,
      costUsd: 0,
    });
    // An answer cached whole reaches a streaming caller as one piece, and back.
    const whole = fresh();
    const unary = await gw.client.generate(whole);
    expect((await collect(gw.client.generateStream(whole))).texts).toEqual([unary.text]);
  });

  it("follows cache-control: no-store skips it, no-cache refreshes it, max-age bounds its age and caches a model without cache", async () => {
    const request = fresh();
    const count = () => fake.requestCount;
    const start = count();
    await gw.client.generate(request, { headers: { "cache-control": "no-store" } });
    await gw.client.generate(request);
    expect(count()).toBe(start + 2); // no-store neither read nor kept an answer
    await gw.client.generate(request, { headers: { "cache-control": "no-cache" } });
    expect(count()).toBe(start + 3);
    const hit = await gw.client.generate(request);
    expect(hit.upstream?.cached).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const tooOld = await gw.client.generate(request, { headers: { "cache-control": "max-age=1" } });
    expect(tooOld.upstream?.cached).toBe(false);
    const plain = fresh("plain");
    await gw.client.generate(plain);
    expect((await gw.client.generate(plain)).upstream?.cached).toBe(false);
    await gw.client.generate(plain, { headers: { "cache-control": "max-age=60" } });
    expect(
      (await gw.client.generate(plain, { headers: { "cache-control": "max-age=60" } })).upstream?.cached,
    ).toBe(true);
  });

  it("answers the OpenAI API from the same cache, JSON and SSE alike", async () => {
    const body = (stream: boolean) =>
      JSON.stringify({ ...fresh(), messages: [{ role: "user", content: "openai api cache" }], stream });
    const post = (stream: boolean) =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: body(stream),
      });
    type Completion = { choices: { message: { content: string } }[]; usage: { completion_tokens: number } };
    const first = (await (await post(false)).json()) as Completion;
    const before = fake.requestCount;
    const second = (await (await post(false)).json()) as Completion;
    expect(second.choices[0]?.message.content).toBe(first.choices[0]?.message.content);
    expect(second.usage).toMatchObject({ completion_tokens: first.usage.completion_tokens, cost_usd: 0 });
    const sse = await (await post(true)).text();
    expect(sse).toContain("data: [DONE]");
    expect(fake.requestCount).toBe(before);
  });

  it("keys on the request, not on the caller's metadata: another parameter is a miss", async () => {
    const request = fresh();
    await gw.client.generate({ ...request, metadata: { team: "a" } });
    expect((await gw.client.generate({ ...request, metadata: { team: "b" } })).upstream?.cached).toBe(true);
    expect((await gw.client.generate({ ...request, temperature: 0.5 })).upstream?.cached).toBe(false);
  });
});

describe("the stats view", () => {
  it("npm run stats shows the cache's lookups, hits, misses and hit rate per model beside the pools", async () => {
    const { stdout } = await execFileAsync(
      join(ROOT, "node_modules/.bin/node"),
      ["--import", "tsx", "src/cli/stats.ts", "--url", gw.url],
      { cwd: ROOT },
    );
    expect(stdout).toMatch(/^response cache \(\d+ bytes held in process, 0 evicted\)$/m);
    const row = /^cached\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)%/m.exec(stdout);
    const [lookups, hits, misses] = [row?.[1], row?.[2], row?.[3]].map(Number) as [number, number, number];
    expect(hits).toBeGreaterThan(0);
    expect(lookups).toBe(hits + misses);
    expect(Number(row?.[4])).toBeCloseTo((100 * hits) / lookups, 1);
  });
});

describe("coalescing", () => {
  it("answers 20 identical concurrent calls with one upstream request", async () => {
    const request = fresh();
    fake.respondWith({ kind: "answer", headersDelayMs: 300 });
    const before = fake.requestCount;
    const replies = await Promise.all(Array.from({ length: 20 }, () => gw.client.generate(request)));
    expect(fake.requestCount - before).toBe(1);
    expect(new Set(replies.map((reply) => reply.text)).size).toBe(1);
    // One caller paid for the answer; the others shared it.
    expect(replies.filter((reply) => (reply.usage?.costUsd ?? 0) > 0)).toHaveLength(1);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/weaver_cache_coalesced_total\{model="cached"\} (19|[2-9]\d)/);
    expect(metrics).toMatch(/weaver_cache_lookups_total\{model="cached",result="hit"\} [1-9]/);
  });

  it("holds each caller to its own deadline: one that runs out waits no longer, the call goes on for the others", async () => {
    const request = fresh();
    fake.respondWith({ kind: "answer", headersDelayMs: 400 });
    const before = fake.requestCount;
    const ended: string[] = [];
    const patient = gw.client.generate(request).finally(() => ended.push("patient"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const hurried = await errorOf(
      gw.client.generate(request, { timeoutMs: 100 }).finally(() => ended.push("hurried")),
    );
    expect(hurried.code).toBe(Code.DeadlineExceeded);
    expect((await patient).text.length).toBeGreaterThan(0);
    // The hurried caller did not wait for the shared call's answer (it came 400 ms after the request).
    expect(ended).toEqual(["hurried", "patient"]);
    expect(fake.requestCount - before).toBe(1);
  });

  it("keeps the shared call going for a patient caller when the hurried one that started it runs out of time", async () => {
    const request = fresh();
    fake.respondWith({ kind: "answer", headersDelayMs: 400 });
    const before = fake.requestCount;
    const hurried = errorOf(gw.client.generate(request, { timeoutMs: 100 }));
    await new Promise((resolve) => setTimeout(resolve, 30));
    const patient = gw.client.generate(request);
    expect((await hurried).code).toBe(Code.DeadlineExceeded);
    const answer = await patient;
    expect(answer.text.length).toBeGreaterThan(0);
    expect(fake.requestCount - before).toBe(1);
    // The caller that got the answer pays for the call, though another started it.
    expect(answer.usage?.costUsd).toBeGreaterThan(0);
  });

  it("streams one upstream answer to every identical caller; a caller that cancels does not cancel the others", async () => {
    const request = fresh();
    fake.respondWith({ kind: "answer", eventDelayMs: 30 });
    const before = fake.requestCount;
    const quitter = new AbortController();
    const quitting = errorOf(
      (async () => {
        for await (const message of gw.client.generateStream(request, { signal: quitter.signal }))
          if (message.event.case === "delta") quitter.abort();
      })(),
    );
    const streams = Array.from({ length: 9 }, () => collect(gw.client.generateStream(request)));
    const results = await Promise.all(streams);
    expect((await quitting).code).toBe(Code.Canceled);
    expect(fake.requestCount - before).toBe(1);
    for (const result of results) {
      expect(result.texts).toEqual(results[0]?.texts);
      expect(result.finish?.finishReason).toBeDefined();
    }
    // The one that quit paid nothing; of the nine that got the whole answer, one paid for it.
    expect(results.filter((result) => (result.finish?.usage?.costUsd ?? 0) > 0)).toHaveLength(1);
  });
});

describe("two replicas sharing Redis", () => {
  let redis: RedisServer;
  let dir: string;
  const replicas: GatewayProcess[] = [];
  beforeAll(async () => {
    redis = await startRedisServer();
    dir = mkdtempSync(join(tmpdir(), "weaver-cache-"));
    writeFileSync(join(dir, "ca.pem"), fake.ca);
    const config = {
      server: { host: "127.0.0.1", port: 0 },
      providers: {
        openai: {
          type: "openai",
          base_url: `${fake.origin}/v1`,
          ca_file: join(dir, "ca.pem"),
          api_key_env: "CACHE_TEST_KEY",
        },
      },
      models: {
        cached: { cache: { ttl: "10m" }, deployments: [{ provider: "openai", model: "gpt-4o-mini" }] },
      },
      store: { redis: { url: redis.url, key_prefix: "cache-test:", timeout: "200ms" } },
      cache: { store: "redis" },
    };
    process.env.CACHE_TEST_KEY = KEY;
    replicas.push(...(await Promise.all([spawnGateway(config), spawnGateway(config)])));
  });
  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.dispose()));
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
    delete process.env.CACHE_TEST_KEY;
  });

  it("make an answer cached through one a hit on the other, and keep serving once Redis stops", async () => {
    const [a, b] = replicas.map((replica) => gatewayClient(replica.url)) as [
      ReturnType<typeof gatewayClient>,
      ReturnType<typeof gatewayClient>,
    ];
    const request = fresh();
    const before = fake.requestCount;
    const first = await a.generate(request);
    // The answer is written after the reply: wait until B sees it.
    await expect
      .poll(async () => (await b.generate(request)).upstream?.cached, { timeout: 5_000 })
      .toBe(true);
    expect(fake.requestCount - before).toBe(1);
    expect((await b.generate(request)).text).toBe(first.text);
    await redis.stop();
    const after = await b.generate(fresh());
    expect(after.text.length).toBeGreaterThan(0);
    expect(after.upstream?.cached).toBe(false);
  });
});
