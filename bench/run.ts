import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { positive } from "./args.js";
import { renderChart } from "./chart.js";
import { detectPinning, LoadGenerator, ROOT, startUpstream, type Upstream } from "./processes.js";
import { markdown, type RunMeta, type ScenarioReport } from "./report.js";
import { cache } from "./scenarios/cache.js";
import { BenchContext, type BenchOptions, type Scenario } from "./scenarios/context.js";
import { keys } from "./scenarios/keys.js";
import { memory } from "./scenarios/memory.js";
import { overhead } from "./scenarios/overhead.js";
import { peers } from "./scenarios/peers.js";
import { routing } from "./scenarios/routing.js";
import { rtt } from "./scenarios/rtt.js";
import { seed } from "./scenarios/seed.js";
import { streams } from "./scenarios/streams.js";
import { throughput } from "./scenarios/throughput.js";
import { workers } from "./scenarios/workers.js";

/** `npm run bench`: starts the upstream, gateways and a load generator, runs the scenarios, reports. */

const SCENARIOS: Scenario[] = [
  seed,
  rtt,
  overhead,
  keys,
  cache,
  routing,
  throughput,
  workers,
  streams,
  memory,
  peers,
];

const USAGE = `usage: npm run bench -- [--quick] [--scenario NAME] [--out FILE] [--rounds N] [--rtt MS]
                          [--rate N] [--log-level LEVEL] [--no-pin]
scenarios: ${SCENARIOS.map((s) => s.name).join(", ")}`;

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    scenario: { type: "string", multiple: true },
    out: { type: "string", default: "bench/results/latest.json" },
    rounds: { type: "string" },
    rtt: { type: "string", default: "20" },
    rate: { type: "string", default: "100" },
    "log-level": { type: "string", default: "info" },
    "no-pin": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const unknown = (values.scenario ?? []).filter((name) => !SCENARIOS.some((s) => s.name === name));
if (unknown.length > 0) {
  process.stderr.write(`unknown scenario ${unknown.join(", ")}\n${USAGE}\n`);
  process.exit(2);
}
const selected = values.scenario
  ? SCENARIOS.filter((s) => values.scenario?.includes(s.name))
  : SCENARIOS.filter((s) => !(values.quick && s.fullRunOnly));
const options: BenchOptions = {
  quick: values.quick,
  rounds: positive(values.rounds ?? (values.quick ? "3" : "5"), "--rounds"),
  rttMs: positive(values.rtt, "--rtt"),
  rate: positive(values.rate, "--rate"),
  logLevel: values["log-level"],
};
const outFile = resolve(values.out);
const svgFile = `${outFile.replace(/\.json$/, "")}.svg`;

const started = performance.now();
const loadAtStart = loadavg()[0] ?? 0;
const progress = (message: string) => {
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s] ${message}\n`);
};

buildIfStale();
const pin = detectPinning(values["no-pin"]);
progress(`${pin.description}; ${options.rounds} rounds per scenario${options.quick ? " (--quick)" : ""}`);
const tmpDir = mkdtempSync(join(tmpdir(), "weaver-bench-"));
const load = new LoadGenerator(pin);
let shared: Promise<Upstream> | undefined;
const sharedUpstream = () => {
  shared ??= startUpstream(tmpDir, pin);
  return shared;
};
let current: BenchContext | undefined;
let stopping: Promise<void> | undefined;
const interrupted = () => {
  // Stop every child, whatever the scenario is doing, and leave without a report.
  stopping ??= Promise.allSettled([current?.cleanup(), shared?.then((u) => u.stop()), load.stop()]).then(
    () => {
      rmSync(tmpDir, { recursive: true, force: true });
      process.exit(130);
    },
  );
};
process.once("SIGINT", interrupted);
process.once("SIGTERM", interrupted);

const reports: ScenarioReport[] = [];
let failed = false;
for (const scenario of selected) {
  if (stopping) break;
  const say = (message: string) => progress(`${scenario.name}: ${message}`);
  const ctx = new BenchContext(options, pin, tmpDir, load, say, sharedUpstream);
  current = ctx;
  progress(`${scenario.name}: ${scenario.title}`);
  try {
    reports.push({ name: scenario.name, title: scenario.title, ...(await scenario.run(ctx)) });
  } catch (error) {
    if (stopping) break;
    failed = true;
    const message = error instanceof Error ? error.message : String(error);
    progress(`${scenario.name}: FAILED: ${message}`);
    reports.push({
      name: scenario.name,
      title: scenario.title,
      params: {},
      tables: [],
      notes: [`FAILED: ${message} (gateway logs kept in ${tmpDir})`],
      data: { error: message },
      chart: [],
    });
  } finally {
    await ctx.cleanup();
  }
}
// An interrupt exits from its handler once the children are stopped; nothing more to do here.
if (stopping) await new Promise(() => {});
await Promise.all([load.stop(), shared?.then((u) => u.stop())]);
if (!failed) rmSync(tmpDir, { recursive: true, force: true });

const meta: RunMeta = {
  startedAt: new Date(Date.now() - (performance.now() - started)).toISOString(),
  durationS: (performance.now() - started) / 1000,
  quick: options.quick,
  rounds: options.rounds,
  node: process.versions.node,
  cpu: cpus()[0]?.model.trim() ?? "unknown CPU",
  cores: availableParallelism(),
  pinning: pin.description,
  gatewayLogLevel: options.logLevel,
  commit: gitCommit(),
  loadAverage: [loadAtStart, loadavg()[0] ?? 0],
};
const text = markdown(meta, reports);
process.stdout.write(text);
mkdirSync(dirname(outFile), { recursive: true });
const results = Object.fromEntries(
  reports.map((r) => [r.name, { title: r.title, params: r.params, ...r.data }]),
);
// Six significant digits are plenty for timings that vary by more than that from run to run.
const rounded = (_key: string, value: unknown) =>
  typeof value === "number" && !Number.isInteger(value) ? Number(value.toPrecision(6)) : value;
writeFileSync(
  outFile,
  `${JSON.stringify({ meta, options, scenarios: results, markdown: text }, rounded, 2)}\n`,
);
const subtitle = [
  `${meta.startedAt.slice(0, 16).replace("T", " ")} UTC · ${meta.cores} × ${meta.cpu} · load average ${meta.loadAverage.map((l) => l.toFixed(1)).join(" → ")}`,
  `${pin.description} · median of ${options.rounds} rounds, whiskers min–max${options.quick ? " · --quick" : ""}`,
];
writeFileSync(
  svgFile,
  renderChart(
    "weaver-gateway bench",
    subtitle,
    reports.flatMap((r) => r.chart),
  ),
);
progress(`wrote ${outFile} and ${svgFile}`);
process.exit(failed ? 1 : 0);

/** The gateway runs from dist/ (what the image runs); rebuild it when src/ or gen/ is newer. */
function buildIfStale(): void {
  const built = join(ROOT, "dist/src/main.js");
  const builtAt = mtime(built);
  const newest = Math.max(...["src", "gen"].map((dir) => newestMtime(join(ROOT, dir))));
  if (builtAt !== undefined && builtAt >= newest) return;
  progress("building dist/ (tsc -p tsconfig.build.json)");
  const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
  try {
    // tsc's diagnostics go to stderr: stdout is the report.
    execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], {
      cwd: ROOT,
      stdio: ["ignore", 2, 2],
    });
  } catch {
    // tsc still emits JavaScript when it finds type errors (noEmitOnError is off).
    if ((mtime(built) ?? 0) < newest)
      throw new Error("the build failed and dist/ is stale; see the errors above");
    progress("WARNING: tsc reported type errors (above); benchmarking the JavaScript it emitted anyway");
  }
}

function mtime(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, mtime(join(entry.parentPath, entry.name)) ?? 0);
  }
  return newest;
}

function gitCommit(): string {
  try {
    const sha = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "src", "gen"], {
      cwd: ROOT,
      encoding: "utf8",
    }).trim();
    return dirty === "" ? sha : `${sha}+dirty`;
  } catch {
    return "unknown";
  }
}
