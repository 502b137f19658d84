// npm run fuzz -- --cases N [--seed S]: generated malformed traffic for every protocol on the port,
// against the real gateway process; a summary table and every failure with the line that replays it.
// npm run fuzz -- --seed S --path P: replays case P of seed S alone (verbosely), and shrinks it if it fails.
import { parseArgs } from "node:util";
import { runFuzz, shrunkReport } from "../support/fuzz/fuzz-run.js";

// ^C ends the run through process.exit, so the gateway child is killed on the way out.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));

const { values } = parseArgs({
  options: {
    cases: { type: "string", default: "300" },
    seed: { type: "string" },
    path: { type: "string" },
    "check-every": { type: "string", default: "25" },
    "shrink-seconds": { type: "string", default: "60" },
  },
});
const cases = Number(values.cases);
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const checkEvery = Number(values["check-every"]);
if (![cases, seed, checkEvery].every(Number.isInteger) || cases < 1 || checkEvery < 1) {
  console.error(
    "usage: npm run fuzz -- --cases N [--seed S] [--path P] [--check-every K] [--shrink-seconds T]",
  );
  process.exit(2);
}
console.log(
  `fuzz: ${cases} cases, seed ${seed} (reproduce: npm run fuzz -- --cases ${cases} --seed ${seed})`,
);
const startedAt = performance.now();
const { summary, shrunk } = await runFuzz({
  cases,
  seed,
  checkEvery,
  shrinkMs: Number(values["shrink-seconds"]) * 1000,
  ...(values.path === undefined ? {} : { path: values.path }),
  log: (line) => console.log(`  ${line}`),
});
console.log(`\n${summary.table(seed)}`);
console.log(`(took ${((performance.now() - startedAt) / 1000).toFixed(1)} s)`);
if (summary.failed) {
  console.log(`\nFAILURES\n${summary.report(seed, cases)}`);
  if (shrunk.length > 0) console.log(`\nSHRUNK\n${shrunkReport(shrunk, seed)}`);
} else console.log("\nevery case got a clean status, and the gateway kept serving");
// Not failures, but worth reading: what the gateway wrote to stderr between the serving checks.
for (const note of summary.notes) console.log(`stderr note: ${note}`);
process.exit(summary.failed ? 1 : 0);
