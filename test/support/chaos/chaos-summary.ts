import type { BatchReport } from "./batch-runner.js";

/** The figures of a chaos run, added up batch by batch. */
export class ChaosSummary {
  cases = 0;
  batches = 0;
  readonly outcomes = new Map<string, number>();
  /** Requests sent again after the first (from the upstreams' counts), and the cases that had any. */
  retries = 0;
  retriedCases = 0;
  /** Cases whose request never reached an upstream. */
  neverSent = 0;
  /** Latest end of an RPC past its deadline (or its caller's cancel), ms. */
  maxEndDelayMs = 0;
  readonly cancelToReset: number[] = [];
  readonly deadlineToReset: number[] = [];
  leaks = 0;
  doubleSends = 0;
  crashes = 0;
  /** Gateways alive but no longer answering /healthz. */
  hangs = 0;
  brokenCases = 0;
  brokenBatches = 0;

  add(report: BatchReport): void {
    this.batches++;
    if (report.leaks.length > 0) this.leaks++;
    if (report.broken.some((b) => b.startsWith("the gateway exited"))) this.crashes++;
    if (report.broken.some((b) => b.startsWith("the gateway stopped answering"))) this.hangs++;
    if (report.broken.length > 0) this.brokenBatches++;
    for (const r of report.cases) {
      this.cases++;
      this.outcomes.set(r.outcome.code, (this.outcomes.get(r.outcome.code) ?? 0) + 1);
      this.retries += Math.max(0, r.received - 1);
      if (r.received > 1) this.retriedCases++;
      if (r.received === 0) this.neverSent++;
      this.doubleSends += r.doubleSends;
      if (r.broken.length > 0) this.brokenCases++;
      const bound = Math.min(r.case.deadlineMs, r.case.cancelAfterMs ?? Number.POSITIVE_INFINITY);
      this.maxEndDelayMs = Math.max(this.maxEndDelayMs, r.outcome.endedAt - r.outcome.startedAt - bound);
      const delays = r.outcome.cancelledAt !== undefined ? this.cancelToReset : this.deadlineToReset;
      delays.push(...r.resetDelays);
    }
  }

  /** The summary table, one figure a line. */
  table(seed: number): string {
    const outcomes = [...this.outcomes.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([code, n]) => `${code} ${n}`)
      .join(", ");
    const rows: [string, string][] = [
      ["seed", String(seed)],
      ["cases (RPCs)", `${this.cases} in ${this.batches} batches`],
      ["outcomes by status", outcomes],
      ["retries (upstream counts)", `${this.retries} re-sends over ${this.retriedCases} cases`],
      ["never reached an upstream", String(this.neverSent)],
      ["max end of RPC past deadline/cancel", `${this.maxEndDelayMs.toFixed(1)} ms`],
      ["cancel -> upstream request reset/ended", spread(this.cancelToReset)],
      ["deadline -> upstream request reset/ended", spread(this.deadlineToReset)],
      ["batches with leaks", String(this.leaks)],
      ["double-sent requests", String(this.doubleSends)],
      ["gateway crashes", String(this.crashes)],
      ["gateway hangs (alive, not answering)", String(this.hangs)],
      ["cases breaking a property", String(this.brokenCases)],
      ["batches breaking a property", String(this.brokenBatches)],
    ];
    const width = Math.max(...rows.map(([name]) => name.length));
    return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join("\n");
  }
}

/** "max 12.3 ms, p50 1.2 ms (n 40)", or "none measured". */
function spread(values: number[]): string {
  if (values.length === 0) return "none measured";
  const sorted = [...values].sort((a, b) => a - b);
  const p50 = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const max = sorted[sorted.length - 1] ?? 0;
  return `max ${max.toFixed(1)} ms, p50 ${p50.toFixed(1)} ms (n ${values.length})`;
}
