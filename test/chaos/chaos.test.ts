// Issue 11: generated upstream faults (both wire formats, TLS HTTP/2 and HTTP/1.1, unary and
// streaming, callers cancelling and setting deadlines) against the real gateway process. Every
// property of test/support/chaos/properties.ts and batch-runner.ts must hold for every case.
import { expect, test } from "vitest";
import { failureReport, runChaos } from "../support/chaos/chaos-run.js";

/** A few hundred cases, within about a minute here; CHAOS_CASES and CHAOS_SEED override. */
const CASES = Number(process.env.CHAOS_CASES ?? 240);
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 2 ** 31);
/** Room for the cases, a shrink of a failure, and a loaded machine. */
const TIMEOUT_MS = 300_000;

test(
  `chaos: ${CASES} generated fault cases leave the gateway serving, bounded, leak-free and never double-sending (seed ${SEED})`,
  async () => {
    console.log(`chaos seed ${SEED}: reproduce with npm run chaos -- --cases ${CASES} --seed ${SEED}`);
    const result = await runChaos({ cases: CASES, seed: SEED, shrinkMs: 90_000 });
    console.log(result.summary.table(SEED));
    const report =
      result.failures.length > 0 || result.finalLeaks.length > 0 ? failureReport(result, CASES) : "";
    expect(report, `chaos seed ${SEED}`).toBe("");
    expect(result.summary.cases).toBeGreaterThanOrEqual(CASES);
    expect(result.summary.doubleSends).toBe(0);
  },
  TIMEOUT_MS,
);
