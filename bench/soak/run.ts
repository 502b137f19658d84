import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseDuration } from "../../src/config/duration.js";
import { CALL_KINDS, type CallKind } from "./call-mix.js";
import { runSoak } from "./soak.js";
import { failed, soakChart, summary } from "./soak-report.js";

/** `npm run soak -- --duration 10m`: a steady mixed load through the chaos upstream; samples, JSON, SVG. */

const USAGE = `usage: npm run soak -- [--duration 10m] [--rate 40] [--sample-every 5s] [--seed N]
                         [--kinds ${CALL_KINDS.join(",")}] [--out bench/results/soak.json] [--log-level info]`;

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "10m" },
    rate: { type: "string", default: "40" },
    "sample-every": { type: "string", default: "5s" },
    seed: { type: "string" },
    kinds: { type: "string", default: CALL_KINDS.join(",") },
    out: { type: "string", default: "bench/results/soak.json" },
    "log-level": { type: "string", default: "info" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const outFile = resolve(values.out);
const base = outFile.replace(/\.json$/, "");
mkdirSync(dirname(outFile), { recursive: true });
const started = performance.now();
const result = await runSoak({
  durationMs: duration(values.duration, "--duration"),
  rate: positive(values.rate, "--rate"),
  sampleEveryMs: duration(values["sample-every"], "--sample-every"),
  seed: values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : positive(values.seed, "--seed"),
  kinds: kinds(values.kinds),
  logLevel: values["log-level"],
  logFile: `${base}.gateway.log`,
  progress: (message) =>
    process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}\n`),
});
const text = summary(result);
process.stdout.write(text);
writeFileSync(outFile, `${JSON.stringify({ ...result, summary: text }, null, 2)}\n`);
writeFileSync(`${base}.svg`, soakChart(result));
process.stderr.write(`wrote ${outFile} and ${base}.svg\n`);
process.exit(failed(result) ? 1 : 0);

function duration(text: string, flag: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) usage(`${flag} must be a duration such as 60s or 10m, got "${text}"`);
  return ms as number;
}

function kinds(text: string): CallKind[] {
  const list = text.split(",").map((k) => k.trim());
  const unknown = list.filter((k) => !(CALL_KINDS as readonly string[]).includes(k));
  if (unknown.length > 0 || list.length === 0) usage(`--kinds: unknown kind ${unknown.join(", ")}`);
  return list as CallKind[];
}

function positive(text: string, flag: string): number {
  const value = Number(text);
  if (!(value > 0)) usage(`${flag} must be a positive number, got "${text}"`);
  return value;
}

function usage(problem: string): never {
  process.stderr.write(`${problem}\n${USAGE}\n`);
  process.exit(2);
}
