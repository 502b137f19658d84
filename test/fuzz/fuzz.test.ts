// Generated malformed traffic for every protocol on the port (gRPC, gRPC-Web, Connect POST and GET,
// the OpenAI API, plain HTTP, raw bytes before and after an HTTP/2 preface) against the real
// gateway process: every case gets a clean status in its protocol, the process survives, and a
// normal Generate over grpc-js and over Connect succeeds after every batch of cases.
import { expect, test } from "vitest";
import { runFuzz, shrunkReport } from "../support/fuzz/fuzz-run.js";

/** A few hundred cases, a few seconds here; FUZZ_CASES and FUZZ_SEED override. */
const CASES = Number(process.env.FUZZ_CASES ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
/** Room for the cases, a short shrink of each kind of failure, and a loaded machine. */
const TIMEOUT_MS = 120_000;

test(
  `fuzz: ${CASES} malformed requests get clean statuses and leave the gateway serving (seed ${SEED})`,
  async () => {
    console.log(`fuzz seed ${SEED}: reproduce with npm run fuzz -- --cases ${CASES} --seed ${SEED}`);
    const { summary, shrunk } = await runFuzz({ cases: CASES, seed: SEED, shrinkMs: 20_000 });
    console.log(summary.table(SEED));
    const report = summary.failed ? `${summary.report(SEED, CASES)}\n${shrunkReport(shrunk, SEED)}` : "";
    expect(report, `fuzz seed ${SEED}`).toBe("");
    expect(summary.cases).toBe(CASES);
  },
  TIMEOUT_MS,
);
