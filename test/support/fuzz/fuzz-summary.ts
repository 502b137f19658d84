import { kindOf } from "./failure-kind.js";
import { caseJson, type FuzzCase } from "./fuzz-case.js";

/** A case that broke a property: its index in the seed's run (fast-check's path), and what broke. */
export interface CaseFailure {
  path: string;
  case: FuzzCase;
  outcome: string;
  problems: string[];
}

/** Problems a serving check found after the cases `from`..`to` (indices), none of them singled out. */
export interface BatchFailure {
  from: number;
  to: number;
  problems: string[];
}

/** The figures of a fuzz run, added up case by case. */
export class FuzzSummary {
  cases = 0;
  readonly perProtocol = new Map<string, number>();
  readonly outcomes = new Map<string, Map<string, number>>();
  readonly failures: CaseFailure[] = [];
  readonly batchFailures: BatchFailure[] = [];
  /** stderr the gateway wrote that is not a crash, and after which cases. */
  readonly notes: string[] = [];
  servingChecks = 0;
  restarts = 0;

  addCase(c: FuzzCase, outcome: string): void {
    this.cases++;
    this.perProtocol.set(c.protocol, (this.perProtocol.get(c.protocol) ?? 0) + 1);
    const byOutcome = this.outcomes.get(c.protocol) ?? new Map<string, number>();
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
    this.outcomes.set(c.protocol, byOutcome);
  }

  get failed(): boolean {
    return this.failures.length > 0 || this.batchFailures.length > 0;
  }

  /** Failing cases and batches by kind. */
  kinds(): Map<string, number> {
    const kinds = new Map<string, number>();
    const lines = [
      ...this.failures.flatMap((f) => [...new Set(f.problems.map(kindOf))]),
      ...this.batchFailures.flatMap((b) => [...new Set(b.problems.map(kindOf))]),
    ];
    for (const kind of lines) kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    return kinds;
  }

  table(seed: number): string {
    const rows: [string, string][] = [
      ["seed", String(seed)],
      ["cases", String(this.cases)],
    ];
    for (const [protocol, n] of [...this.perProtocol.entries()].sort((a, b) => b[1] - a[1])) {
      const outcomes = [...(this.outcomes.get(protocol) ?? new Map<string, number>()).entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([outcome, count]) => `${outcome.replace(`${protocol} `, "")} ${count}`)
        .join(", ");
      rows.push([`  ${protocol}`, `${n}: ${outcomes}`]);
    }
    const kinds = [...this.kinds().entries()].map(([kind, n]) => `${kind} ${n}`).join(", ");
    rows.push(
      ["serving checks (grpc-js + Connect)", `${this.servingChecks}, ${this.batchFailures.length} failed`],
      ["gateway restarts after a crash", String(this.restarts)],
      ["failing cases", String(this.failures.length)],
      ["failures by kind", kinds || "none"],
      ["stderr notes (not crashes)", String(this.notes.length)],
    );
    const width = Math.max(...rows.map(([name]) => name.length));
    return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join("\n");
  }

  /** Every failure with the command that replays it, the first `limit` of them in full. */
  report(seed: number, cases: number, limit = 15): string {
    const lines: string[] = [];
    for (const f of this.failures.slice(0, limit)) {
      lines.push(
        `case ${f.path} (${f.case.protocol}, ${f.outcome}): ${f.problems.join(" | ").slice(0, 800)}`,
        `  reproduce: npm run fuzz -- --seed ${seed} --path ${f.path}   (${f.case.mutation.slice(0, 160)})`,
        `  case: ${caseJson(f.case).slice(0, 1200)}`,
      );
    }
    if (this.failures.length > limit)
      lines.push(`... and ${this.failures.length - limit} more failing cases`);
    for (const b of this.batchFailures)
      lines.push(
        `after cases ${b.from}..${b.to}: ${b.problems.join(" | ").slice(0, 1500)}`,
        `  reproduce: npm run fuzz -- --cases ${cases} --seed ${seed}`,
      );
    for (const note of this.notes.slice(0, 5)) lines.push(`stderr note: ${note}`);
    return lines.join("\n");
  }
}
