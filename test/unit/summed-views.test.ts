import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  type ModelsReport,
  type PoolsReport,
  summedModels,
  summedPoolStats,
} from "../../src/service/summed-views.js";
import { type CountersSnapshot, sumCounters } from "../../src/upstream/origin-counters.js";
import type { WorkerReport } from "../../src/workers/worker-messages.js";

// The whole-gateway views of several workers, from generated worker reports.

const ORIGINS = ["https://a.example", "https://b.example", "http://c.example"];
const STATES = ["healthy", "probing", "cooling_down"] as const;

const counters = fc
  .record({
    requestsTotal: fc.nat(1000),
    reused: fc.nat(1000),
    connectionsCreatedTotal: fc.nat(50),
    activeConnections: fc.nat(8),
    inFlight: fc.nat(20),
    connectTimeMaxMs: fc.double({ min: 0, max: 100, noNaN: true }),
  })
  .map(({ reused, ...c }) =>
    sumCounters([
      {
        ...c,
        requestsOnReusedConnections: Math.min(reused, c.requestsTotal),
        reuseRate: 0,
        avgConnectionsPerRequest: 0,
        idleConnections: 0,
        queued: 0,
        connectErrorsTotal: 0,
        tlsSessionsResumedTotal: 0,
        connectTimeCount: c.connectionsCreatedTotal,
        connectTimeSumMs: c.connectTimeMaxMs * c.connectionsCreatedTotal,
      },
    ]),
  );

const poolsReport = fc
  .record({
    origins: fc.subarray(ORIGINS, { minLength: 0 }),
    started: fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }),
  })
  .chain(({ origins, started }) =>
    fc.tuple(...origins.map(() => counters)).map((each) => {
      const snapshots = origins.map((origin, i) => ({
        origin,
        protocol: i % 2 ? "h2" : "",
        pooling: true,
        counters: each[i] as CountersSnapshot,
      }));
      return {
        snapshot: { totals: sumCounters(snapshots.map((s) => s.counters)), origins: snapshots },
        startedAt: new Date(started),
      } satisfies PoolsReport;
    }),
  );

const workers = <T>(report: fc.Arbitrary<T>) =>
  fc
    .array(report, { minLength: 1, maxLength: 4 })
    .map((values): WorkerReport<T>[] =>
      values.map((value, worker) => ({ worker, pid: 1000 + worker, value })),
    );

describe("PoolStats of several workers", () => {
  test("sums every worker's origins and totals, recomputes the ratios, and lists each worker", () => {
    fc.assert(
      fc.property(workers(poolsReport), (reports) => {
        const stats = summedPoolStats(reports);
        const all = reports.flatMap((r) => r.value.snapshot.origins);
        const requests = all.reduce((sum, o) => sum + o.counters.requestsTotal, 0);
        const reused = all.reduce((sum, o) => sum + o.counters.requestsOnReusedConnections, 0);
        expect(Number(stats.totals?.requestsTotal)).toBe(requests);
        expect(stats.totals?.reuseRate).toBeCloseTo(requests === 0 ? 0 : reused / requests, 12);
        expect(stats.totals?.connectTimeMaxMs).toBe(
          Math.max(0, ...all.map((o) => o.counters.connectTimeMaxMs)),
        );
        // One entry per origin any worker has, each the sum over the workers that have it.
        expect(stats.origins?.map((o) => o.origin).sort()).toEqual(
          [...new Set(all.map((o) => o.origin))].sort(),
        );
        for (const origin of stats.origins ?? []) {
          const same = all.filter((o) => o.origin === origin.origin);
          expect(Number(origin.counters?.requestsTotal)).toBe(
            same.reduce((s, o) => s + o.counters.requestsTotal, 0),
          );
          expect(origin.protocol).toBe(same.find((o) => o.protocol !== "")?.protocol ?? "");
        }
        // The breakdown adds up to the totals; counters restart with a worker, so the latest start counts.
        expect(stats.workers?.map((w) => w.worker)).toEqual(reports.map((r) => r.worker));
        expect(stats.workers?.reduce((s, w) => s + Number(w.totals?.requestsTotal), 0)).toBe(requests);
        const latest = Math.max(...reports.map((r) => r.value.startedAt.getTime()));
        expect(
          Number(stats.startedAt?.seconds) * 1000 + Math.floor((stats.startedAt?.nanos ?? 0) / 1e6),
        ).toBe(latest);
      }),
    );
  });
});

const deployment = fc.record({
  state: fc.constantFrom(...STATES),
  inFlight: fc.nat(10),
  consecutiveFailures: fc.nat(5),
  cooldownRemainingMs: fc.nat(30_000),
  requests: fc.nat(1000),
  failures: fc.nat(1000),
});

describe("ListModels of several workers", () => {
  test("adds each deployment's calls, keeps the worst state and the longest cooldown, and lists each worker's view", () => {
    fc.assert(
      fc.property(workers(fc.tuple(deployment, deployment)), (reports) => {
        const models: WorkerReport<ModelsReport>[] = reports.map(({ worker, pid, value }) => ({
          worker,
          pid,
          value: {
            models: [
              {
                name: "m",
                aliases: [],
                fallbacks: [],
                deployments: value.map((d, i) => ({
                  provider: `p${i}`,
                  model: "x",
                  origin: "https://a.example",
                  weight: 1,
                  state: d.state,
                  inFlight: d.inFlight,
                  consecutiveFailures: d.consecutiveFailures,
                  cooldownRemainingMs: d.cooldownRemainingMs,
                  requestsTotal: BigInt(d.requests),
                  failuresTotal: BigInt(d.failures),
                })),
              },
            ],
          },
        }));
        const summed = summedModels(models);
        expect(summed.models).toHaveLength(1);
        const deployments = summed.models?.[0]?.deployments ?? [];
        expect(deployments).toHaveLength(2);
        deployments.forEach((d, i) => {
          const views = reports.map((r) => r.value[i as 0 | 1]);
          const worst = STATES[Math.max(...views.map((v) => STATES.indexOf(v.state)))];
          expect(d.state).toBe(worst);
          expect(d.inFlight).toBe(views.reduce((s, v) => s + v.inFlight, 0));
          expect(d.requestsTotal).toBe(BigInt(views.reduce((s, v) => s + v.requests, 0)));
          expect(d.failuresTotal).toBe(BigInt(views.reduce((s, v) => s + v.failures, 0)));
          expect(d.consecutiveFailures).toBe(Math.max(...views.map((v) => v.consecutiveFailures)));
          expect(d.cooldownRemainingMs).toBe(Math.max(...views.map((v) => v.cooldownRemainingMs)));
          expect(d.workers?.map((w) => [w.worker, w.state])).toEqual(
            reports.map((r, w) => [r.worker, views[w]?.state]),
          );
        });
      }),
    );
  });
});
