import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors/gateway-error.js";
import { systemClock } from "../../src/router/clock.js";
import { backoffMs, isRetryable, sleep } from "../../src/router/retry-policy.js";
import { flush, ManualClock } from "./support/manual-clock.js";

const POLICY = { baseMs: 50, maxMs: 2_000 };

describe("backoffMs", () => {
  it("is full jitter: from 0 up to (not including) the ceiling", () => {
    expect(backoffMs(1, POLICY, () => 0)).toBe(0);
    expect(backoffMs(1, POLICY, () => 0.5)).toBe(25);
    expect(backoffMs(1, POLICY, () => 0.999_999)).toBeLessThan(50);
    expect(backoffMs(1, POLICY, () => 0.999_999)).toBeGreaterThan(49.99);
  });

  it("doubles its ceiling with each retry", () => {
    const ceilings = [1, 2, 3, 4, 5].map((retry) => backoffMs(retry, POLICY, () => 0.5) * 2);
    expect(ceilings).toEqual([50, 100, 200, 400, 800]);
  });

  it("never exceeds max_retry_backoff, however many retries", () => {
    expect(backoffMs(6, POLICY, () => 0.5)).toBe(800);
    expect(backoffMs(7, POLICY, () => 0.5)).toBe(1_000);
    expect(backoffMs(20, POLICY, () => 0.999_999)).toBeLessThanOrEqual(2_000);
    expect(backoffMs(20, POLICY, () => 0.999_999)).toBeGreaterThan(1_999);
  });

  it("stays within its bounds with the real random", () => {
    for (let i = 0; i < 1_000; i++) {
      const retry = 1 + (i % 8);
      const wait = backoffMs(retry, POLICY);
      expect(wait).toBeGreaterThanOrEqual(0);
      expect(wait).toBeLessThan(Math.min(POLICY.maxMs, POLICY.baseMs * 2 ** (retry - 1)));
    }
  });
});

describe("isRetryable", () => {
  it("trusts the provider layer's classification, and nothing else", () => {
    expect(isRetryable(new GatewayError("unavailable", "503", { retryable: true, status: 503 }))).toBe(true);
    expect(isRetryable(new GatewayError("invalid_argument", "400", { status: 400 }))).toBe(false);
    expect(isRetryable(new Error("ECONNRESET"))).toBe(false);
    expect(isRetryable(undefined)).toBe(false);
  });
});

/** Where a promise stands, read without awaiting it. */
function watch(promise: Promise<unknown>): { state: "pending" | "resolved" | "rejected"; value?: unknown } {
  const watched: { state: "pending" | "resolved" | "rejected"; value?: unknown } = { state: "pending" };
  promise.then(
    (value) => Object.assign(watched, { state: "resolved", value }),
    (value) => Object.assign(watched, { state: "rejected", value }),
  );
  return watched;
}

const abortListeners = (signal: AbortSignal) => getEventListeners(signal, "abort").length;

describe("sleep", () => {
  it("resolves when its time has passed on the clock, not before", async () => {
    const clock = new ManualClock();
    const waiting = watch(sleep(30, new AbortController().signal, clock));
    await clock.advance(29);
    expect(waiting.state).toBe("pending");
    await clock.advance(1);
    expect(waiting.state).toBe("resolved");
  });

  it("resolves at once for no time, setting no timer and no listener", async () => {
    const clock = new ManualClock();
    const { signal } = new AbortController();
    const waiting = watch(sleep(0, signal, clock));
    await flush();
    expect(waiting.state).toBe("resolved");
    expect(clock.pending).toBe(0);
    expect(abortListeners(signal)).toBe(0);
  });

  it("rejects with the signal's reason as soon as it aborts, and cancels its timer", async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const reason = new Error("caller went away");
    const waiting = watch(sleep(60_000, controller.signal, clock));
    await clock.advance(10);
    expect(clock.pending).toBe(1);
    controller.abort(reason);
    await flush();
    expect(waiting).toEqual({ state: "rejected", value: reason });
    expect(clock.pending).toBe(0);
  });

  // Regression: a sleep that resolved left its abort listener on the caller's signal, one more per
  // retry, holding its closure for as long as the RPC lives.
  it("leaves no abort listener behind once it has resolved", async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const waiting = watch(sleep(5, controller.signal, clock));
    expect(abortListeners(controller.signal)).toBe(1);
    await clock.advance(5);
    expect(waiting.state).toBe("resolved");
    expect(abortListeners(controller.signal)).toBe(0);
  });

  it("leaves no listener behind after many waits on one signal", async () => {
    const clock = new ManualClock();
    const { signal } = new AbortController();
    for (let i = 0; i < 20; i++) {
      const waiting = sleep(1, signal, clock);
      await clock.advance(1);
      await waiting;
    }
    expect(abortListeners(signal)).toBe(0);
  });

  // Regression: a signal aborted before the call was never listened to, so the sleep ran its whole time.
  it("rejects at once when the signal has already aborted", async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const reason = new Error("already gone");
    controller.abort(reason);
    const waiting = watch(sleep(2_000, controller.signal, clock));
    await flush();
    expect(waiting).toEqual({ state: "rejected", value: reason });
    expect(clock.pending).toBe(0);
  });

  it("waits on the system clock by default", async () => {
    // Timers of the same delay fire in the order they were set: the second proves the first was cancelled.
    const woken: string[] = [];
    const cancel = systemClock.setTimer(0, () => woken.push("cancelled"));
    cancel();
    await new Promise<void>((resolve) => systemClock.setTimer(0, () => resolve()));
    expect(woken).toEqual([]);
    const before = performance.now();
    expect(systemClock.now()).toBeGreaterThanOrEqual(before);
    await expect(sleep(1, new AbortController().signal)).resolves.toBeUndefined();
  });
});
