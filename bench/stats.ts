/** Latency percentiles of one load run, and medians with spread over repeated rounds. */

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** A figure measured once per round: its median, extremes and every round's value. */
export interface Measure {
  median: number;
  min: number;
  max: number;
  rounds: number[];
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

export function summarize(values: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const list = Array.from(sorted);
  const sum = list.reduce((a, b) => a + b, 0);
  return {
    p50: percentile(list, 50),
    p90: percentile(list, 90),
    p99: percentile(list, 99),
    max: list.length === 0 ? Number.NaN : (list[list.length - 1] as number),
    mean: list.length === 0 ? Number.NaN : sum / list.length,
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function measure(rounds: readonly number[]): Measure {
  return {
    median: median(rounds),
    min: Math.min(...rounds),
    max: Math.max(...rounds),
    rounds: [...rounds],
  };
}

/**
 * Per-round ratio a/b, then summarized: both sides of a comparison are measured in the same
 * round, so slow drift of a noisy machine cancels out of the ratio.
 */
export function ratioMeasure(a: readonly number[], b: readonly number[]): Measure {
  return measure(a.map((value, i) => value / (b[i] as number)));
}

/** Per-round difference a-b, summarized like ratioMeasure. */
export function diffMeasure(a: readonly number[], b: readonly number[]): Measure {
  return measure(a.map((value, i) => value - (b[i] as number)));
}

/** Collects one series of per-round values under a name, for later `measure`. */
export class Rounds {
  private readonly series = new Map<string, number[]>();

  add(name: string, value: number): void {
    const list = this.series.get(name) ?? [];
    list.push(value);
    this.series.set(name, list);
  }

  get(name: string): number[] {
    return this.series.get(name) ?? [];
  }

  measure(name: string): Measure {
    return measure(this.get(name));
  }

  /** Every series recorded, in the order first added. */
  names(): string[] {
    return [...this.series.keys()];
  }
}
