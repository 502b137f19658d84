import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors/gateway-error.js";
import { backoffMs, isRetryable, sleep } from "../../src/router/retry-policy.js";

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

describe("sleep", () => {
  it("resolves after its time", async () => {
    const started = performance.now();
    await sleep(30, new AbortController().signal);
    expect(performance.now() - started).toBeGreaterThanOrEqual(29);
  });

  it("resolves at once for no time", async () => {
    await expect(sleep(0, new AbortController().signal)).resolves.toBeUndefined();
  });

  it("rejects with the signal's reason as soon as it aborts", async () => {
    const controller = new AbortController();
    const reason = new Error("caller went away");
    const started = performance.now();
    const waiting = sleep(60_000, controller.signal);
    setTimeout(() => controller.abort(reason), 20);
    await expect(waiting).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("leaves no abort listener behind once it has resolved", async () => {
    const controller = new AbortController();
    await sleep(5, controller.signal);
    // Aborting afterwards must not reject anything (an unhandled rejection would fail the run).
    controller.abort(new Error("late"));
    expect(controller.signal.aborted).toBe(true);
  });

  // Regression: a signal aborted before the call was never listened to, so the sleep ran its whole time.
  it("rejects at once when the signal has already aborted", async () => {
    const controller = new AbortController();
    const reason = new Error("already gone");
    controller.abort(reason);
    const outcome = await Promise.race([
      sleep(2_000, controller.signal).then(
        () => "resolved",
        (error: unknown) => error,
      ),
      new Promise((resolve) => setTimeout(() => resolve("still sleeping"), 500)),
    ]);
    expect(outcome).toBe(reason);
  });
});
