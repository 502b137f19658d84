import { median } from "../stats.js";

/**
 * Is a sampled figure (live heap, open fds) still rising once the gateway is warm?
 *
 * The rule, for a noisy 2-core machine where one sample can land on a burst of calls in flight
 * or a slow GC:
 * 1. Drop the warm-up: V8 optimizes, pools connect and bounded caches fill early in a run.
 * 2. Compare the median of the last third of the remaining samples with the median of the first
 *    third. Medians of thirds ignore the odd spike that a first-vs-last comparison would take at
 *    face value.
 * 3. Fit a Theil–Sen slope (the median of the slopes between every pair of samples, which stands
 *    up to nearly a third of the samples being outliers) and project it over the window.
 * The figure is rising when BOTH the growth between thirds and the projected slope exceed the
 * tolerance (an absolute floor or a share of the first third's median, whichever is larger). A
 * leak grows steadily and trips both; noise, or a single step such as a cache reaching its bound
 * halfway, rarely moves both past the floor.
 */

export interface TrendPoint {
  atMs: number;
  value: number;
}

export interface TrendRule {
  /** Share of the run treated as warm-up, kept between the two bounds below. */
  warmupShare: number;
  minWarmupMs: number;
  maxWarmupMs: number;
  /** Growth always allowed, in the figure's unit (bytes, descriptors). */
  absoluteTolerance: number;
  /** Growth allowed as a share of the first third's median. */
  relativeTolerance: number;
  /** Fewer samples than this after the warm-up cannot show a trend. */
  minSamples: number;
}

export interface TrendVerdict {
  rising: boolean;
  /** False when too few samples followed the warm-up to judge. */
  judged: boolean;
  warmupMs: number;
  samples: number;
  firstThirdMedian: number;
  lastThirdMedian: number;
  /** lastThirdMedian - firstThirdMedian. */
  growth: number;
  /** Theil–Sen slope, per minute. */
  slopePerMinute: number;
  /** The slope over the judged window (first to last sample). */
  projectedGrowth: number;
  tolerance: number;
}

export function judgeTrend(points: readonly TrendPoint[], rule: TrendRule): TrendVerdict {
  const start = points[0]?.atMs ?? 0;
  const runMs = (points[points.length - 1]?.atMs ?? start) - start;
  const warmupMs = Math.min(rule.maxWarmupMs, Math.max(rule.minWarmupMs, runMs * rule.warmupShare));
  const judgedPoints = points.filter((p) => p.atMs - start >= warmupMs);
  const third = Math.floor(judgedPoints.length / 3);
  const firstThirdMedian = median(judgedPoints.slice(0, third).map((p) => p.value));
  const lastThirdMedian = median(judgedPoints.slice(judgedPoints.length - third).map((p) => p.value));
  const growth = lastThirdMedian - firstThirdMedian;
  const slope = theilSenSlope(judgedPoints);
  const windowMs = (judgedPoints[judgedPoints.length - 1]?.atMs ?? 0) - (judgedPoints[0]?.atMs ?? 0);
  const projectedGrowth = slope * windowMs;
  const tolerance = Math.max(rule.absoluteTolerance, rule.relativeTolerance * firstThirdMedian);
  const judged = judgedPoints.length >= rule.minSamples;
  return {
    rising: judged && growth > tolerance && projectedGrowth > tolerance,
    judged,
    warmupMs,
    samples: judgedPoints.length,
    firstThirdMedian,
    lastThirdMedian,
    growth,
    slopePerMinute: slope * 60_000,
    projectedGrowth,
    tolerance,
  };
}

/** The median of the slopes between every pair of points (per ms); 0 for fewer than two. */
export function theilSenSlope(points: readonly TrendPoint[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const a = points[i] as TrendPoint;
      const b = points[j] as TrendPoint;
      if (b.atMs !== a.atMs) slopes.push((b.value - a.value) / (b.atMs - a.atMs));
    }
  }
  return slopes.length === 0 ? 0 : median(slopes);
}

/**
 * Live heap: after its warm-up a gateway under this load held its live heap within ±0.3 MiB
 * (the calls in flight at the moment of a sample); 2 MiB or 5% is several times that noise, and
 * still catches in one minute a leak of about 4 MiB a minute (under 2 KiB a call at 40 calls/s).
 */
export const LIVE_HEAP_RULE: TrendRule = {
  warmupShare: 0.2,
  minWarmupMs: 15_000,
  maxWarmupMs: 120_000,
  absoluteTolerance: 2 * 1024 * 1024,
  relativeTolerance: 0.05,
  minSamples: 9,
};

/** Open fds: HTTP/1.1 upstream sockets above the idle limit come and go (+8 in one sample); 6 or 15% between medians. */
export const FD_RULE: TrendRule = { ...LIVE_HEAP_RULE, absoluteTolerance: 6, relativeTolerance: 0.15 };
