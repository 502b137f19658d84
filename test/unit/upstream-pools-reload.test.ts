import { afterAll, beforeAll, expect, test } from "vitest";
import { PoolSchema } from "../../src/config/schema.js";
import {
  type UpstreamOrigin,
  UpstreamPools,
  type UpstreamRequest,
} from "../../src/upstream/upstream-pools.js";
import { type FakeOpenAI, startFakeOpenAI } from "../support/fakes/index.js";

// What a reload does to the pools, origin by origin, over real sockets to two fake upstreams.
const KEY = "sk-pools-reload";
const CHAT: UpstreamRequest = {
  method: "POST",
  path: "/v1/chat/completions",
  headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
  body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] }),
};
const DEFAULTS = PoolSchema.parse({ warm_up: false });

let kept: FakeOpenAI;
let dropped: FakeOpenAI;
beforeAll(async () => {
  [kept, dropped] = await Promise.all([
    startFakeOpenAI({ apiKey: KEY, cleartext: true }),
    startFakeOpenAI({ apiKey: KEY, cleartext: true }),
  ]);
});
afterAll(async () => {
  await Promise.all([kept.close(), dropped.close()]);
});

async function send(origin: UpstreamOrigin): Promise<number> {
  const response = await origin.request(CHAT);
  await response.body.dump();
  return response.statusCode;
}

const countersOf = (pools: UpstreamPools, origin: string) =>
  pools.snapshot().origins.filter((snapshot) => snapshot.origin === origin);

test("unchanged settings keep the pool and its connection; a dropped origin serves its old calls until closed", async () => {
  const pools = new UpstreamPools(DEFAULTS);
  const first = pools.plan(DEFAULTS);
  const keptPool = first.register(kept.origin);
  const droppedPool = first.register(dropped.origin);
  pools.commit(first);
  expect([await send(keptPool), await send(droppedPool)]).toEqual([200, 200]);

  const second = pools.plan(DEFAULTS);
  expect(second.register(kept.origin)).toBe(keptPool);
  const { changes, closeRetired } = pools.commit(second);
  expect(changes).toEqual({ kept: [kept.origin], opened: [], drained: [dropped.origin] });
  expect(await send(keptPool)).toBe(200);
  expect(kept.connections).toBe(1);
  // Until the calls that began before the reload are done, a retry of theirs still goes out.
  expect(await send(droppedPool)).toBe(200);
  expect(countersOf(pools, dropped.origin)).toHaveLength(1);

  await closeRetired();
  expect(countersOf(pools, dropped.origin)).toEqual([]);
  await expect(send(droppedPool)).rejects.toThrow();
  await pools.close();
});

test("changed settings open a new pool whose counters carry on from the old one's", async () => {
  const pools = new UpstreamPools(DEFAULTS);
  const first = pools.plan(DEFAULTS);
  const before = first.register(kept.origin);
  pools.commit(first);
  await send(before);
  await send(before);

  const second = pools.plan(DEFAULTS);
  const after = second.register(kept.origin, { pool: { max_connections: 2 } });
  expect(after).not.toBe(before);
  const { changes, closeRetired } = pools.commit(second);
  expect(changes).toEqual({ kept: [], opened: [kept.origin], drained: [] });
  await send(after);
  // One row for the origin, not two, and its totals never fall: 2 requests before, 1 after.
  const [row] = countersOf(pools, kept.origin);
  expect(countersOf(pools, kept.origin)).toHaveLength(1);
  expect(row?.counters.requestsTotal).toBe(3);
  await closeRetired();
  expect(countersOf(pools, kept.origin)[0]?.counters.requestsTotal).toBe(3);
  await pools.close();
});

test("an abandoned plan closes only the pools it made", async () => {
  const pools = new UpstreamPools(DEFAULTS);
  const first = pools.plan(DEFAULTS);
  const running = first.register(kept.origin);
  pools.commit(first);

  const refused = pools.plan(DEFAULTS);
  expect(refused.register(kept.origin)).toBe(running);
  const fresh = refused.register(dropped.origin);
  await pools.abandon(refused);
  await expect(send(fresh)).rejects.toThrow();
  expect(await send(running)).toBe(200);
  expect(pools.snapshot().origins.map((snapshot) => snapshot.origin)).toEqual([kept.origin]);
  await pools.close();
});
