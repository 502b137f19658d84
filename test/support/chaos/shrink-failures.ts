import fc from "fast-check";
import type { BatchReport } from "./batch-runner.js";
import type { ChaosCase } from "./faults.js";

/** A batch that broke a property: its fast-check run index, its cases, and what broke. */
export interface ChaosFailure {
  run: number;
  cases: ChaosCase[];
  broken: string[];
}

/** One kind of failure, replayed from its first batch and shrunk by fast-check (or not reproduced). */
export type ShrunkFailure =
  | { kind: string; run: number; path: string; cases: ChaosCase[]; broken: string[] }
  | { kind: string; run: number; notReproduced: true };

/** Everything one batch broke, each line naming its case. */
export function brokenOf(report: BatchReport): string[] {
  const perCase = report.cases.flatMap((r, i) =>
    r.broken.map((b) => `case ${i} (${r.model}, ${r.outcome.code}): ${b}; case ${JSON.stringify(r.case)}`),
  );
  return [...report.broken, ...perCase];
}

const KINDS: [RegExp, string][] = [
  [/more time\(s\) after it was answered/, "double send"],
  [/^leak: PoolStats/, "PoolStats in_flight leak"],
  [/^leak: /, "resource leak"],
  [/stopped answering/, "gateway hang"],
  [/^the gateway exited/, "gateway crash"],
  [/^expected /, "wrong status"],
  [/without naming/, "error type not named"],
  [/past its deadline/, "late end"],
  [/reached the upstream after the caller gave up/, "sent after the caller gave up"],
  [/stayed open .* after the caller gave up/, "upstream not reset"],
  [/not in README/, "status outside the table"],
  [/stack trace|a key in/, "stack trace or key exposed"],
  [/^a normal |healthz/, "next request not served"],
];

/** What a broken line is about, so a shrink keeps to the failure it started from. */
export function kindOf(line: string): string {
  const property = /^case \d+ \([^)]*\): (.*?); case \{/.exec(line)?.[1] ?? line;
  return KINDS.find(([pattern]) => pattern.test(property))?.[1] ?? property.slice(0, 40);
}

/** The one case a per-case failure names, run alone twice: it, and what it broke, if it fails so again. */
async function failsAlone(
  run: (cases: ChaosCase[]) => Promise<BatchReport>,
  kind: string,
  failure: ChaosFailure,
): Promise<{ cases: ChaosCase[]; broken: string[] } | undefined> {
  const line = failure.broken.find((b) => kindOf(b) === kind) ?? "";
  const index = /^case (\d+) /.exec(line)?.[1];
  const c = index === undefined ? undefined : failure.cases[Number(index)];
  if (!c) return undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    const broken = brokenOf(await run([c])).filter((b) => kindOf(b) === kind);
    if (broken.length > 0) return { cases: [c], broken };
  }
  return undefined;
}

/**
 * For each kind of failure (its first batch): the one case it names, if that fails alone; else that
 * run of the seed replayed (fast-check's `path`) and shrunk while it fails the same way. The
 * time is shared among the kinds.
 */
export async function shrinkEachKind(
  run: (cases: ChaosCase[]) => Promise<BatchReport>,
  arbitrary: fc.Arbitrary<ChaosCase[]>,
  options: { seed: number; numRuns: number; shrinkMs: number; log: (line: string) => void },
  failures: ChaosFailure[],
): Promise<ShrunkFailure[]> {
  const firsts = new Map<string, ChaosFailure>();
  for (const failure of failures)
    for (const line of failure.broken) if (!firsts.has(kindOf(line))) firsts.set(kindOf(line), failure);
  const budget = options.shrinkMs / Math.max(1, firsts.size);
  const shrunk: ShrunkFailure[] = [];
  for (const [kind, failure] of firsts) {
    const alone = await failsAlone(run, kind, failure);
    if (alone) {
      options.log(`"${kind}": the case alone fails so`);
      shrunk.push({ kind, run: failure.run, path: "(the case alone)", ...alone });
      continue;
    }
    options.log(`shrinking "${kind}" from batch ${failure.run} for up to ${(budget / 1000).toFixed(0)} s`);
    // fast-check hands the counterexample back as a copy: what it broke is found by its JSON.
    const brokenBy = new Map<string, string[]>();
    const sameKind = fc.asyncProperty(arbitrary, async (cases) => {
      const broken = brokenOf(await run(cases)).filter((line) => kindOf(line) === kind);
      brokenBy.set(JSON.stringify(cases), broken);
      return broken.length === 0;
    });
    const details = await fc.check(sameKind, {
      seed: options.seed,
      numRuns: options.numRuns,
      path: String(failure.run),
      interruptAfterTimeLimit: budget,
    });
    const cases = details.counterexample?.[0];
    if (!details.failed || !cases) shrunk.push({ kind, run: failure.run, notReproduced: true });
    else {
      const path = details.counterexamplePath ?? String(failure.run);
      shrunk.push({ kind, run: failure.run, path, cases, broken: brokenBy.get(JSON.stringify(cases)) ?? [] });
    }
  }
  return shrunk;
}
