import fc from "fast-check";
import { type BatchReport, BatchRunner } from "./batch-runner.js";
import { startChaosRig } from "./chaos-rig.js";
import { ChaosSummary } from "./chaos-summary.js";
import { batchArbitrary, type ChaosCase } from "./faults.js";

export interface ChaosRunOptions {
  cases: number;
  seed: number;
  /** Most cases run at once in one batch (fast-check shrinks a failing batch toward one case). Default 20. */
  maxBatch?: number;
  /** How long shrinking a failure may take. Default 60 s. */
  shrinkMs?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** A batch that broke a property: its fast-check run index, its cases, and what broke. */
export interface ChaosFailure {
  run: number;
  cases: ChaosCase[];
  broken: string[];
}

export interface ChaosRunResult {
  seed: number;
  summary: ChaosSummary;
  failures: ChaosFailure[];
  /** The first failure replayed and shrunk by fast-check, or why it could not be. */
  shrunk?: { path: string; cases: ChaosCase[]; broken: string[] } | { notReproduced: true; run: number };
  finalLeaks: string[];
}

/** Everything one batch broke, each line naming its case. */
export function brokenOf(report: BatchReport): string[] {
  const perCase = report.cases.flatMap((r, i) =>
    r.broken.map((b) => `case ${i} (${r.model}, ${r.outcome.code}): ${b}; case ${JSON.stringify(r.case)}`),
  );
  return [...report.broken, ...perCase];
}

/** A batch's report; a failure of the checks themselves (PoolStats not answering) is a broken property too. */
async function runSafely(runner: BatchRunner, cases: ChaosCase[]): Promise<BatchReport> {
  try {
    return await runner.run(cases);
  } catch (error) {
    return { cases: [], broken: [`the checks failed: ${(error as Error).message}`], leaks: [] };
  }
}

/** How many fast-check runs of `arbitrary` (batches) it takes from `seed` to reach `cases` cases. */
function runsFor(cases: number, seed: number, arbitrary: fc.Arbitrary<ChaosCase[]>): number {
  const batches = fc.sample(arbitrary, { seed, numRuns: cases });
  let total = 0;
  for (const [index, batch] of batches.entries()) {
    total += batch.length;
    if (total >= cases) return index + 1;
  }
  return batches.length;
}

/**
 * Runs `cases` generated cases against the real gateway, batch by batch, recording every broken
 * property without stopping; then replays the first failing batch and lets fast-check shrink it.
 */
export async function runChaos(options: ChaosRunOptions): Promise<ChaosRunResult> {
  const { seed, log = () => {} } = options;
  const arbitrary = batchArbitrary(options.maxBatch ?? 20);
  const numRuns = runsFor(options.cases, seed, arbitrary);
  const rig = await startChaosRig();
  try {
    const runner = new BatchRunner(rig);
    const summary = new ChaosSummary();
    const failures: ChaosFailure[] = [];
    let run = 0;
    const recording = fc.asyncProperty(arbitrary, async (cases) => {
      const report = await runSafely(runner, cases);
      summary.add(report);
      const broken = brokenOf(report);
      if (broken.length > 0) {
        failures.push({ run, cases, broken });
        log(`batch ${run}: ${broken.length} broken: ${broken[0]}`);
      }
      run++;
      if (run % 10 === 0) log(`${summary.cases} cases in ${run} batches`);
      return true;
    });
    await fc.assert(recording, { seed, numRuns });
    const finalLeaks = await runner.finalLeaks();
    const first = failures[0];
    const result: ChaosRunResult = { seed, summary, failures, finalLeaks };
    if (first)
      result.shrunk = await shrink(
        runner,
        arbitrary,
        seed,
        numRuns,
        first.run,
        options.shrinkMs ?? 60_000,
        log,
      );
    return result;
  } finally {
    await rig.close();
  }
}

/** Replays run `run` of the seed (fast-check's `path`) and shrinks it while it still fails. */
async function shrink(
  runner: BatchRunner,
  arbitrary: fc.Arbitrary<ChaosCase[]>,
  seed: number,
  numRuns: number,
  run: number,
  shrinkMs: number,
  log: (line: string) => void,
): Promise<ChaosRunResult["shrunk"]> {
  log(`shrinking batch ${run} (path ${run}) for up to ${shrinkMs / 1000} s`);
  // fast-check hands back the counterexample as a copy: what it broke is found by its JSON.
  const brokenBy = new Map<string, string[]>();
  const strict = fc.asyncProperty(arbitrary, async (cases) => {
    const broken = brokenOf(await runSafely(runner, cases));
    brokenBy.set(JSON.stringify(cases), broken);
    return broken.length === 0;
  });
  const details = await fc.check(strict, {
    seed,
    numRuns,
    path: String(run),
    interruptAfterTimeLimit: shrinkMs,
  });
  const counterexample = details.counterexample?.[0];
  if (!details.failed || !counterexample) return { notReproduced: true, run };
  return {
    path: details.counterexamplePath ?? String(run),
    cases: counterexample,
    broken: brokenBy.get(JSON.stringify(counterexample)) ?? [],
  };
}

/** Runs one batch of given cases `times` times (a shrunk case from a report), with each RPC's outcome. */
export async function replayBatch(
  cases: ChaosCase[],
  times: number,
  log: (line: string) => void,
): Promise<number> {
  const rig = await startChaosRig();
  let failed = 0;
  try {
    const runner = new BatchRunner(rig);
    for (let n = 0; n < times; n++) {
      const report = await runner.run(cases);
      for (const r of report.cases) {
        const took = (r.outcome.endedAt - r.outcome.startedAt).toFixed(0);
        log(
          `${r.model}: ${r.outcome.code} after ${took} ms, received ${r.received}, answered ${r.answered}: ${r.outcome.details}`,
        );
      }
      const broken = brokenOf(report);
      if (broken.length > 0) failed++;
      for (const b of broken) log(`  BROKEN ${b}`);
    }
  } finally {
    await rig.close();
  }
  return failed;
}

/** The failures and the shrunk case, readably, with the command that reproduces them. */
export function failureReport(result: ChaosRunResult, cases: number): string {
  const lines = [`reproduce: npm run chaos -- --cases ${cases} --seed ${result.seed}`];
  for (const failure of result.failures.slice(0, 10)) {
    lines.push(
      `batch ${failure.run} (fast-check path ${failure.run}):`,
      ...failure.broken.map((b) => `  ${b}`),
    );
  }
  if (result.failures.length > 10) lines.push(`... and ${result.failures.length - 10} more batches`);
  if (result.finalLeaks.length > 0) lines.push(`after the last batch: ${result.finalLeaks.join("; ")}`);
  const shrunk = result.shrunk;
  if (shrunk && "notReproduced" in shrunk) lines.push(`batch ${shrunk.run} did not fail again when replayed`);
  else if (shrunk) {
    lines.push(
      `shrunk (seed ${result.seed}, path ${shrunk.path}): ${JSON.stringify(shrunk.cases)}`,
      ...shrunk.broken.map((b) => `  ${b}`),
    );
  }
  return lines.join("\n");
}
