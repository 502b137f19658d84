import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, startRedisServer } from "../../bench/redis-server.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import { RedisStore } from "../../src/store/redis-store.js";
import type { SharedStore, TakeRequest } from "../../src/store/shared-store.js";

// The two stores keep the same promises: checked side by side on generated sequences of
// operations, and the Redis one against a real redis-server shared by two clients (two replicas).
let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

let prefixes = 0;
const redisStore = () =>
  new RedisStore({
    url: redis.url,
    key_prefix: `test${++prefixes}:`,
    timeout: 2000,
    when_unreachable: "open",
  });

const COUNTERS = ["c0", "c1", "c2"];
const check = fc.record({
  counter: fc.constantFrom(...COUNTERS),
  limit: fc.integer({ min: 0, max: 12 }),
  need: fc.integer({ min: 0, max: 3 }),
  add: fc.integer({ min: 0, max: 3 }),
});
type Operation =
  | {
      op: "take";
      checks: { counter: string; limit: number; need: number; add: number }[];
      slot: number | undefined;
    }
  | { op: "add"; counter: string; by: number; release: number | undefined; row: number | undefined };
const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({
    op: fc.constant("take" as const),
    // Distinct counters in one take, as quotas have (one per kind).
    checks: fc.uniqueArray(check, { maxLength: 3, selector: (c) => c.counter }),
    slot: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  }),
  fc.record({
    op: fc.constant("add" as const),
    counter: fc.constantFrom(...COUNTERS),
    by: fc.integer({ min: 0, max: 5 }),
    release: fc.option(fc.nat({ max: 5 }), { nil: undefined }),
    row: fc.option(fc.nat({ max: 1_000_000_000_000 }), { nil: undefined }),
  }),
);

/** Applies `ops` to a store; returns what each take answered and the rows at the end. */
async function play(store: SharedStore, ops: Operation[]) {
  const answers: unknown[] = [];
  let holders = 0;
  const now = Date.now();
  for (const op of ops) {
    if (op.op === "take") {
      const request: TakeRequest = {
        checks: op.checks.map((c) => ({ ...c, ttlMs: 60_000 })),
        slot:
          op.slot === undefined
            ? undefined
            : { set: "calls", holder: `h${holders++}`, limit: op.slot, until: now + 60_000 },
        now,
      };
      answers.push(await store.take(request));
    } else {
      await store.add({
        counters: [{ counter: op.counter, by: op.by, ttlMs: 60_000 }],
        release: op.release === undefined ? undefined : { set: "calls", holder: `h${op.release}` },
        row:
          op.row === undefined
            ? undefined
            : { table: "t", row: '["k","m"]', totals: { cost: op.row, requests: 1 }, ttlMs: 60_000 },
      });
    }
  }
  return { answers, rows: await store.rows(["t"]) };
}

describe("the in-process and the Redis store", () => {
  it("answer every sequence of takes, adds and releases alike (generated sequences)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { maxLength: 25 }), async (ops) => {
        const memory = new MemoryStore();
        const shared = redisStore();
        try {
          expect(await play(shared, ops)).toEqual(await play(memory, ops));
        } finally {
          await shared.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it("take is all or nothing: a failing check leaves every counter and the slot untouched", async () => {
    for (const store of [new MemoryStore(), redisStore()]) {
      const now = Date.now();
      const slot = { set: "s", holder: "a", limit: 1, until: now + 60_000 };
      const refused = await store.take({
        checks: [
          { counter: "x", limit: 5, need: 1, add: 1, ttlMs: 60_000 },
          { counter: "y", limit: 0, need: 1, add: 0, ttlMs: 60_000 },
        ],
        slot,
        now,
      });
      expect(refused).toMatchObject({ taken: false, failed: 1, values: [0, 0], slotsHeld: 0 });
      const taken = await store.take({
        checks: [{ counter: "x", limit: 5, need: 1, add: 1, ttlMs: 60_000 }],
        slot,
        now,
      });
      expect(taken).toMatchObject({ taken: true, values: [1], slotsHeld: 1 });
      await store.close();
    }
  });

  it("forgets a counter at the end of its window and a slot at its holder's time", async () => {
    for (const store of [new MemoryStore(), redisStore()]) {
      const now = Date.now();
      await store.take({ checks: [{ counter: "w", limit: 9, need: 1, add: 4, ttlMs: 150 }], now });
      const slot = { set: "s", holder: "gone", limit: 1, until: now + 150 };
      expect((await store.take({ checks: [], slot, now })).taken).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const later = Date.now();
      const after = await store.take({
        checks: [{ counter: "w", limit: 9, need: 1, add: 0, ttlMs: 150 }],
        slot: { ...slot, holder: "next", until: later + 60_000 },
        now: later,
      });
      expect(after).toMatchObject({ taken: true, values: [0], slotsHeld: 1 });
      await store.close();
    }
  });
});

describe("the Redis store's edges", () => {
  // Found in review: a gRPC deadline in µs made a fractional `until`, PEXPIRE refused it halfway
  // through the script, and the counter it had incremented and the slot it had added stayed.
  it("takes a slot whose holder's time is a fractional ms, all of it, with the set expiring", async () => {
    const store = redisStore();
    const now = Date.now();
    const taken = await store.take({
      checks: [{ counter: "rpm", limit: 5, need: 1, add: 1, ttlMs: 60_000.5 }],
      slot: { set: "calls", holder: "h", limit: 2, until: now + 29_999.874 },
      now: now + 0.25,
    });
    expect(taken).toMatchObject({ taken: true, values: [1], slotsHeld: 1 });
    await store.add({ counters: [], release: { set: "calls", holder: "h" } });
    const again = await store.take({
      checks: [],
      slot: { set: "calls", holder: "i", limit: 1, until: now + 1_000 },
      now,
    });
    expect(again.taken).toBe(true);
    await store.close();
  });
});

describe("two replicas on one Redis", () => {
  it("let exactly `limit` of many concurrent takes through, whichever replica asks", async () => {
    const prefix = `race${++prefixes}:`;
    const replicas = [0, 1].map(
      () => new RedisStore({ url: redis.url, key_prefix: prefix, timeout: 2000, when_unreachable: "open" }),
    );
    const now = Date.now();
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        (replicas[i % 2] as RedisStore).take({
          checks: [{ counter: "rpm", limit: 25, need: 1, add: 1, ttlMs: 60_000 }],
          slot: { set: "calls", holder: `call-${i}`, limit: 40, until: now + 60_000 },
          now,
        }),
      ),
    );
    expect(results.filter((r) => r.taken)).toHaveLength(25);
    expect(Math.max(...results.flatMap((r) => r.values))).toBe(25);
    await Promise.all(replicas.map((replica) => replica.close()));
  });

  it("add up totals exactly, past what a double holds in its fraction", async () => {
    const store = redisStore();
    const nano = 123_456_789_012; // $123.456789012 in nano-USD
    await Promise.all(
      Array.from({ length: 20 }, () =>
        store.add({
          counters: [],
          row: { table: "day", row: '["k","m"]', totals: { cost: nano }, ttlMs: 60_000 },
        }),
      ),
    );
    expect(await store.rows(["day", "other"])).toEqual([
      { table: "day", row: '["k","m"]', totals: { cost: nano * 20 } },
    ]);
    await store.close();
  });
});
