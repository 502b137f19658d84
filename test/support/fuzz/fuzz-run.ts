import fc from "fast-check";
import { fuzzCaseArbitrary } from "./case-arbitrary.js";
import { judge, type Verdict } from "./clean-status.js";
import { kindOf } from "./failure-kind.js";
import { caseJson, type FuzzCase } from "./fuzz-case.js";
import { FuzzRig } from "./fuzz-rig.js";
import { FuzzSummary } from "./fuzz-summary.js";
import { sendCase } from "./send-case.js";

export interface FuzzRunOptions {
  cases: number;
  seed: number;
  /** Replay only this case of the seed's run (fast-check's path, e.g. "17"), and shrink it if it fails. */
  path?: string;
  /** Cases between two serving checks (normal calls, liveness, stderr). Default 25. */
  checkEvery?: number;
  /** How long shrinking the failures may take in all. Default 30 s; 0 skips it. */
  shrinkMs?: number;
  log?: (line: string) => void;
}

/** A failure fast-check shrank: the smallest case it found that still fails the same way. */
export interface ShrunkCase {
  kind: string;
  fromPath: string;
  path: string;
  case: FuzzCase;
  problems: string[];
}

export interface FuzzRunResult {
  summary: FuzzSummary;
  shrunk: ShrunkCase[];
}

/** Sends one case and judges it; a gateway that died over it fails it. */
async function runCase(rig: FuzzRig, c: FuzzCase): Promise<Verdict> {
  let verdict: Verdict;
  try {
    verdict = judge(c, await sendCase(rig.port, c));
  } catch (error) {
    // The harness's own mistake: counted apart, never blamed on the gateway.
    verdict = { outcome: `harness error: ${(error as Error).message.slice(0, 80)}`, problems: [] };
  }
  if (!rig.alive()) await new Promise((resolve) => setTimeout(resolve, 50));
  if (!rig.alive() || verdict.outcome === "hang") {
    const report = await rig.check();
    verdict.problems.push(...report.problems);
  }
  return verdict;
}

/**
 * Runs `cases` generated cases (fast-check, from `seed`) one at a time against a real gateway
 * process, recording every failure without stopping, with a serving check every `checkEvery`
 * cases; then lets fast-check shrink the first failure of each kind.
 */
export async function runFuzz(options: FuzzRunOptions): Promise<FuzzRunResult> {
  const { seed, cases, log = () => {} } = options;
  const checkEvery = options.checkEvery ?? 25;
  const rig = await FuzzRig.start();
  const summary = new FuzzSummary();
  try {
    let index = options.path === undefined ? 0 : Number(options.path.split(":")[0]);
    let sinceCheck = index;
    const serving = async () => {
      const report = await rig.check();
      summary.servingChecks++;
      if (report.problems.length > 0)
        summary.batchFailures.push({ from: sinceCheck, to: index - 1, problems: report.problems });
      for (const note of report.notes) summary.notes.push(`after cases ${sinceCheck}..${index - 1}: ${note}`);
      sinceCheck = index;
    };
    const recording = fc.asyncProperty(fuzzCaseArbitrary, async (c) => {
      const verdict = await runCase(rig, c);
      summary.addCase(c, verdict.outcome);
      if (verdict.problems.length > 0) {
        summary.failures.push({
          path: String(index),
          case: c,
          outcome: verdict.outcome,
          problems: verdict.problems,
        });
        log(`case ${index} (${c.protocol}, ${verdict.outcome}): ${verdict.problems[0]?.slice(0, 300)}`);
      }
      if (options.path !== undefined)
        log(`case ${index} (${c.protocol}, ${verdict.outcome}): ${caseJson(c).slice(0, 2000)}`);
      index++;
      if (index - sinceCheck >= checkEvery) await serving();
      if (index % 100 === 0) log(`${index} cases`);
      return true;
    });
    // With a path, fast-check replays that one case of the seed's run (numRuns 1 stops it there).
    const replay = options.path === undefined ? { numRuns: cases } : { numRuns: 1, path: options.path };
    await fc.assert(recording, { seed, ...replay });
    await serving();
    summary.restarts = rig.restarts;
    const shrunk = await shrinkEachKind(rig, summary, seed, cases, options.shrinkMs ?? 30_000, log);
    summary.restarts = rig.restarts;
    return { summary, shrunk };
  } finally {
    await rig.close();
  }
}

/** For the first failing case of each kind: fast-check replays it by its path and shrinks it while it fails so. */
async function shrinkEachKind(
  rig: FuzzRig,
  summary: FuzzSummary,
  seed: number,
  numRuns: number,
  shrinkMs: number,
  log: (line: string) => void,
): Promise<ShrunkCase[]> {
  if (shrinkMs <= 0) return [];
  const firsts = new Map<string, string>();
  for (const f of summary.failures)
    for (const p of f.problems) if (!firsts.has(kindOf(p))) firsts.set(kindOf(p), f.path);
  const budget = shrinkMs / Math.max(1, firsts.size);
  const shrunk: ShrunkCase[] = [];
  for (const [kind, path] of firsts) {
    log(`shrinking "${kind}" from case ${path} for up to ${(budget / 1000).toFixed(0)} s`);
    const problemsOf = new Map<string, string[]>();
    const sameKind = fc.asyncProperty(fuzzCaseArbitrary, async (c) => {
      const problems = (await runCase(rig, c)).problems.filter((p) => kindOf(p) === kind);
      problemsOf.set(caseJson(c), problems);
      return problems.length === 0;
    });
    const details = await fc.check(sameKind, { seed, numRuns, path, interruptAfterTimeLimit: budget });
    const c = details.counterexample?.[0];
    if (details.failed && c)
      shrunk.push({
        kind,
        fromPath: path,
        path: details.counterexamplePath ?? path,
        case: c,
        problems: problemsOf.get(caseJson(c)) ?? [],
      });
  }
  return shrunk;
}

/** The shrunk cases, readably, each with the command that replays it. */
export function shrunkReport(shrunk: ShrunkCase[], seed: number): string {
  return shrunk
    .map((s) =>
      [
        `${s.kind}: shrunk from case ${s.fromPath} to path ${s.path}`,
        `  reproduce: npm run fuzz -- --seed ${seed} --path ${s.path}`,
        `  case: ${caseJson(s.case).slice(0, 1500)}`,
        ...s.problems.map((p) => `  ${p.slice(0, 600)}`),
      ].join("\n"),
    )
    .join("\n");
}
