import { afterEach, expect, test } from "vitest";
import { startFakeOpenAI } from "../support/fakes/index.js";
import { generateRequest, type ProviderGateway, startProviderGateway } from "../support/provider-gateway.js";
import { runConcurrently } from "../support/run-concurrently.js";

// The pool knobs that only show over HTTP/1.1, where every request in flight needs a socket of its own.
const KEY = "sk-test-pool-limits";
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function http1Gateway(pool: Record<string, unknown>): Promise<ProviderGateway> {
  const fake = await startFakeOpenAI({ apiKey: KEY, http1Only: true });
  cleanups.push(() => fake.close());
  fake.respondAlways({ kind: "answer", headersDelayMs: 30 });
  const gw = await startProviderGateway({
    providers: { openai: { type: "openai", upstream: fake, apiKey: KEY } },
    pool: { warm_up: false, ...pool },
  });
  cleanups.push(() => gw.close());
  return gw;
}

test("max_connections bounds the sockets to one origin, and the rest queue", async () => {
  const gw = await http1Gateway({ max_connections: 2 });
  await runConcurrently(12, 6, () => gw.client.generate(generateRequest({ model: "openai/gpt-x" })));
  const [origin] = gw.gateway.pools.snapshot().origins;
  expect(origin?.protocol).toBe("http/1.1");
  expect(origin?.counters.connectionsCreatedTotal).toBe(2);
  expect(origin?.counters.requestsTotal).toBe(12);
  expect(origin?.counters.requestsOnReusedConnections).toBe(10);
});

test("max_idle_connections closes the sockets that go idle beyond it", async () => {
  const gw = await http1Gateway({ max_connections: 4, max_idle_connections: 1 });
  await runConcurrently(8, 4, () => gw.client.generate(generateRequest({ model: "openai/gpt-x" })));
  const origin = () => gw.gateway.pools.snapshot().origins[0]?.counters;
  expect(origin()?.connectionsCreatedTotal).toBeGreaterThan(1);
  await expect.poll(() => origin()?.idleConnections, { timeout: 5_000 }).toBe(1);
  expect(origin()?.activeConnections).toBe(1);
});

test("keepalive_expiry closes an idle connection after it", async () => {
  const gw = await http1Gateway({ keepalive_expiry: "200ms" });
  await gw.client.generate(generateRequest({ model: "openai/gpt-x" }));
  const origin = () => gw.gateway.pools.snapshot().origins[0]?.counters;
  expect(origin()?.activeConnections).toBe(1);
  await expect.poll(() => origin()?.activeConnections, { timeout: 5_000 }).toBe(0);
  await gw.client.generate(generateRequest({ model: "openai/gpt-x" }));
  expect(origin()?.connectionsCreatedTotal).toBe(2);
});
