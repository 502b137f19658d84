import { describe, expect, test } from "vitest";
import { OriginCounters, snapshotCounters, sumCounters } from "../../src/upstream/origin-counters.js";

/** Counters of one origin after `requests` requests, `reused` of them on an already-used socket. */
function countersAfter(options: {
  requests: number;
  reused: number;
  connectTimesMs: number[];
  busy?: number;
}): OriginCounters {
  const counters = new OriginCounters("https://127.0.0.1:443", true);
  for (const ms of options.connectTimesMs) counters.recordConnect(ms, "h2", false);
  counters.requestsTotal = options.requests;
  counters.requestsOnReusedConnections = options.reused;
  counters.busyConnections = options.busy ?? 0;
  return counters;
}

describe("snapshotCounters", () => {
  test("derives the reuse rate and connections per request", () => {
    const snapshot = snapshotCounters(countersAfter({ requests: 8, reused: 6, connectTimesMs: [10, 30] }), 0);
    expect(snapshot.reuseRate).toBe(0.75);
    expect(snapshot.avgConnectionsPerRequest).toBe(0.25);
  });

  test("with no requests both ratios are 0, not NaN", () => {
    const snapshot = snapshotCounters(new OriginCounters("https://127.0.0.1:443", true), 0);
    expect(snapshot.reuseRate).toBe(0);
    expect(snapshot.avgConnectionsPerRequest).toBe(0);
  });

  test("idle connections are the open ones carrying no request; queued is passed through", () => {
    const snapshot = snapshotCounters(
      countersAfter({ requests: 3, reused: 0, connectTimesMs: [1, 2, 3], busy: 1 }),
      5,
    );
    expect(snapshot.activeConnections).toBe(3);
    expect(snapshot.idleConnections).toBe(2);
    expect(snapshot.queued).toBe(5);
  });

  test("records each connect: count, sum and maximum of the handshake times", () => {
    const counters = countersAfter({ requests: 0, reused: 0, connectTimesMs: [12, 40, 7] });
    counters.recordConnect(5, "http/1.1", true);
    const snapshot = snapshotCounters(counters, 0);
    expect(counters.protocol).toBe("http/1.1");
    expect(snapshot).toMatchObject({
      connectionsCreatedTotal: 4,
      tlsSessionsResumedTotal: 1,
      connectTimeCount: 4,
      connectTimeSumMs: 64,
      connectTimeMaxMs: 40,
    });
  });
});

describe("sumCounters", () => {
  test("sums the counters and recomputes the ratios from the sums, not their average", () => {
    // 1 of 2 reused (0.5) and 9 of 10 reused (0.9): the average of rates would be 0.7.
    const few = snapshotCounters(countersAfter({ requests: 2, reused: 1, connectTimesMs: [20] }), 1);
    const many = snapshotCounters(countersAfter({ requests: 10, reused: 9, connectTimesMs: [5] }), 2);
    const total = sumCounters([few, many]);
    expect(total.requestsTotal).toBe(12);
    expect(total.requestsOnReusedConnections).toBe(10);
    expect(total.reuseRate).toBeCloseTo(10 / 12);
    expect(total.connectionsCreatedTotal).toBe(2);
    expect(total.avgConnectionsPerRequest).toBeCloseTo(2 / 12);
    expect(total.queued).toBe(3);
    expect(total.connectTimeSumMs).toBe(25);
  });

  test("takes the maximum of the maxima, not their sum", () => {
    const slow = snapshotCounters(countersAfter({ requests: 1, reused: 0, connectTimesMs: [3, 90] }), 0);
    const fast = snapshotCounters(countersAfter({ requests: 1, reused: 0, connectTimesMs: [4, 60] }), 0);
    expect(sumCounters([slow, fast]).connectTimeMaxMs).toBe(90);
    expect(sumCounters([fast, slow]).connectTimeMaxMs).toBe(90);
  });

  test("no origins sum to zeros, with ratios 0", () => {
    const total = sumCounters([]);
    expect(total.requestsTotal).toBe(0);
    expect(total.reuseRate).toBe(0);
    expect(total.avgConnectionsPerRequest).toBe(0);
    expect(total.connectTimeMaxMs).toBe(0);
  });

  test("origins without requests leave the ratios of the others intact", () => {
    const idle = snapshotCounters(new OriginCounters("https://idle.test", true), 0);
    const busy = snapshotCounters(countersAfter({ requests: 4, reused: 3, connectTimesMs: [8] }), 0);
    const total = sumCounters([idle, busy]);
    expect(total.reuseRate).toBe(0.75);
    expect(total.avgConnectionsPerRequest).toBe(0.25);
  });

  test("does not change the snapshots it sums", () => {
    const one = snapshotCounters(countersAfter({ requests: 4, reused: 2, connectTimesMs: [8] }), 0);
    const before = { ...one };
    sumCounters([one, one]);
    expect(one).toEqual(before);
  });
});
