// npm run chaos -- --cases N --seed S [--batch B] [--shrink-seconds T]: generated upstream faults
// against the real gateway, a summary table, and every broken property with its seed.
// npm run chaos -- --replay '<cases JSON>' [--cases N]: runs one (shrunk) batch N times, verbosely.
import { parseArgs } from "node:util";
import { failureReport, replayBatch, runChaos } from "../support/chaos/chaos-run.js";

// ^C and timeouts end the run through process.exit, so the gateway child is killed on the way out.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));

const { values } = parseArgs({
  options: {
    cases: { type: "string", default: "300" },
    seed: { type: "string" },
    batch: { type: "string", default: "20" },
    "shrink-seconds": { type: "string", default: "120" },
    replay: { type: "string" },
  },
});
if (values.replay !== undefined) {
  const failed = await replayBatch(JSON.parse(values.replay), Number(values.cases), console.log);
  process.exit(failed > 0 ? 1 : 0);
}
const cases = Number(values.cases);
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const maxBatch = Number(values.batch);
if (![cases, seed, maxBatch].every(Number.isInteger) || cases < 1 || maxBatch < 1) {
  console.error("usage: npm run chaos -- --cases N --seed S [--batch B] [--shrink-seconds T]");
  process.exit(2);
}
console.log(
  `chaos: ${cases} cases, seed ${seed} (reproduce: npm run chaos -- --cases ${cases} --seed ${seed})`,
);
const startedAt = performance.now();
const result = await runChaos({
  cases,
  seed,
  maxBatch,
  shrinkMs: Number(values["shrink-seconds"]) * 1000,
  log: (line) => console.log(`  ${line}`),
});
console.log(`\n${result.summary.table(seed)}`);
console.log(`(took ${((performance.now() - startedAt) / 1000).toFixed(1)} s)`);
const failed = result.failures.length > 0 || result.finalLeaks.length > 0;
if (failed) console.log(`\nBROKEN PROPERTIES\n${failureReport(result, cases)}`);
else console.log("\nevery property held");
process.exit(failed ? 1 : 0);
