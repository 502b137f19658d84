import { describe, expect, it } from "vitest";
import {
  FD_RULE,
  judgeTrend,
  LIVE_HEAP_RULE,
  type TrendPoint,
  type TrendRule,
  theilSenSlope,
} from "../../bench/soak/trend.js";

const MiB = 1024 * 1024;
const RULE: TrendRule = { ...LIVE_HEAP_RULE, minWarmupMs: 10_000 };

/** A 60 s run sampled every 2 s: base + drift + a deterministic jitter of ±1 MiB. */
function series(value: (atMs: number, i: number) => number): TrendPoint[] {
  return Array.from({ length: 31 }, (_, i) => ({ atMs: i * 2_000, value: value(i * 2_000, i) }));
}
const jitter = (i: number) => Math.sin(i * 2.3) * MiB;

describe("judgeTrend", () => {
  it("calls a flat but noisy live heap flat", () => {
    const verdict = judgeTrend(
      series((_, i) => 30 * MiB + jitter(i)),
      RULE,
    );
    expect(verdict).toMatchObject({ judged: true, rising: false });
  });

  it("calls a steady leak of 6 MiB a minute rising", () => {
    const verdict = judgeTrend(
      series((at, i) => 30 * MiB + (at / 60_000) * 6 * MiB + jitter(i)),
      RULE,
    );
    expect(verdict.rising).toBe(true);
    expect(verdict.slopePerMinute / MiB).toBeCloseTo(6, 0);
  });

  it("ignores growth that stops within the warm-up", () => {
    const verdict = judgeTrend(
      series((at, i) => 30 * MiB + Math.min(at, 10_000) * 1_000 + jitter(i)),
      RULE,
    );
    expect(verdict).toMatchObject({ judged: true, rising: false });
  });

  it("is not fooled by a few spikes at the end", () => {
    const verdict = judgeTrend(
      series((_, i) => 30 * MiB + jitter(i) + (i >= 28 ? 40 * MiB : 0)),
      RULE,
    );
    expect(verdict.rising).toBe(false);
  });

  it("allows growth under the tolerance, and not above it", () => {
    const grow = (mib: number) => series((at) => 30 * MiB + (at / 60_000) * mib * MiB);
    expect(judgeTrend(grow(3), RULE).rising).toBe(false);
    expect(judgeTrend(grow(8), RULE).rising).toBe(true);
  });

  it("calls open fds flat when sockets above the idle limit come and go", () => {
    const fds = series((_, i) => 33 + (i % 4 === 0 ? 8 : 0));
    expect(judgeTrend(fds, { ...FD_RULE, minWarmupMs: 10_000 }).rising).toBe(false);
    const leaking = series((at, i) => 33 + Math.floor(at / 5_000) + (i % 4 === 0 ? 8 : 0));
    expect(judgeTrend(leaking, { ...FD_RULE, minWarmupMs: 10_000 }).rising).toBe(true);
  });

  it("does not judge a run with too few samples after the warm-up", () => {
    const short = series((at) => at * 1_000).slice(0, 10);
    expect(judgeTrend(short, RULE)).toMatchObject({ judged: false, rising: false });
  });
});

describe("theilSenSlope", () => {
  it("finds the slope of a line through outliers", () => {
    const points = Array.from({ length: 20 }, (_, i) => ({
      atMs: i,
      value: 3 * i + (i % 7 === 0 ? 100 : 0),
    }));
    expect(theilSenSlope(points)).toBe(3);
  });
});
