import fc from "fast-check";
import { type BatchReport, BatchRunner } from "./batch-runner.js";
import { startChaosRig } from "./chaos-rig.js";
import { ChaosSummary } from "./chaos-summary.js";
import { batchArbitrary, type ChaosCase } from "./faults.js";
import { brokenOf, type ChaosFailure, type ShrunkFailure, shrinkEachKind } from "./shrink-failures.js";

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

export interface ChaosRunResult {
  seed: number;
  summary: ChaosSummary;
  failures: ChaosFailure[];
  /** Each kind of failure replayed from its first batch and shrunk by fast-check. */
  shrunk: ShrunkFailure[];
  finalLeaks: string[];
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
    const shrinking = { seed, numRuns, shrinkMs: options.shrinkMs ?? 60_000, log };
    const replay = (cases: ChaosCase[]) => runSafely(runner, cases);
    const shrunk = await shrinkEachKind(replay, arbitrary, shrinking, failures);
    return { seed, summary, failures, finalLeaks, shrunk };
  } finally {
    await rig.close();
  }
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
  for (const shrunk of result.shrunk) {
    if ("notReproduced" in shrunk)
      lines.push(`${shrunk.kind}: batch ${shrunk.run} did not fail so again when replayed`);
    else {
      lines.push(
        `${shrunk.kind}, shrunk from batch ${shrunk.run} (seed ${result.seed}, path ${shrunk.path}): ${JSON.stringify(shrunk.cases)}`,
        ...shrunk.broken.map((b) => `  ${b.replace(/; case \{.*$/, "")}`),
      );
    }
  }
  return lines.join("\n");
}
