import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { spawnGateway } from "../../test/support/gateway-process.js";
import { positive } from "../args.js";
import { MiB } from "../format.js";
import { cpuSeconds, RssSampler, rssBytes } from "../proc.js";
import { DEPLOYED_NODE_FLAGS, detectPinning } from "../processes.js";
import { type LatencySummary, summarize } from "../stats.js";
import { type AttackResult, attacks } from "./attacks.js";
import { floodTable, type Row, verdicts } from "./flood-report.js";
import { GoodCaller, wallNow } from "./good-caller.js";

/**
 * `npm run flood`: the gateway as its own process, a well-behaved gRPC caller at a steady rate,
 * and each attack in turn: a window before it, a window during it, side by side in one run.
 */

const USAGE = `usage: npm run flood -- [--quick] [--attack NAME]... [--rate N] [--window S] [--out FILE] [--no-pin]`;

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    attack: { type: "string", multiple: true },
    rate: { type: "string", default: "200" },
    window: { type: "string" },
    out: { type: "string", default: "bench/results/flood.json" },
    "no-pin": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  process.stdout.write(
    `${USAGE}\nattacks: ${attacks(sizes(false))
      .map((a) => a.name)
      .join(", ")}\n`,
  );
  process.exit(0);
}
const quick = values.quick;
const rate = positive(values.rate, "--rate");
const windowMs = positive(values.window ?? (quick ? "3" : "10"), "--window") * 1000;
const warmUpMs = quick ? 3_000 : 8_000;
const plan = attacks(sizes(quick));
const unknown = (values.attack ?? []).filter((name) => !plan.some((a) => a.name === name));
if (unknown.length > 0) {
  process.stderr.write(`unknown attack ${unknown.join(", ")}\n${USAGE}\n`);
  process.exit(2);
}
const selected = values.attack ? plan.filter((a) => values.attack?.includes(a.name)) : plan;

const started = performance.now();
const progress = (message: string) =>
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s] ${message}\n`);
const loadAtStart = loadavg()[0] ?? 0;
const pin = detectPinning(values["no-pin"]);
// The attacker runs here: pinned with the good caller, away from the gateway's core.
if (pin.enabled)
  execFileSync("taskset", ["-a", "-c", "-p", pin.load, String(process.pid)], { stdio: "ignore" });

// The built-in demo upstream serves "demo"; the connection limits are the defaults.
const gateway = await spawnGateway(
  {
    server: { host: "127.0.0.1", port: 0 },
    providers: { demo: { type: "demo" } },
    models: { demo: { deployments: [{ provider: "demo", model: "demo" }] } },
  },
  { nodeFlags: DEPLOYED_NODE_FLAGS },
);
if (pin.enabled)
  execFileSync("taskset", ["-a", "-c", "-p", pin.gateway, String(gateway.child.pid)], { stdio: "ignore" });
const pid = gateway.child.pid as number;
const target = { host: "127.0.0.1", port: gateway.port };
progress(`gateway pid ${pid} on ${gateway.url}; ${pin.description}`);
const caller = new GoodCaller(gateway.url, rate, pin.enabled ? pin.load : undefined);
const stopAll = async () => {
  await caller.stop();
  await gateway.dispose();
};
process.once("SIGINT", () => void stopAll().then(() => process.exit(130)));

progress(`good caller: ${rate} Generate calls/s; warming up for ${warmUpMs / 1000} s`);
await sleep(warmUpMs);

interface Measured {
  name: string;
  title: string;
  bar: (typeof plan)[number]["bar"];
  before: [number, number];
  during: [number, number];
  result: AttackResult | { error: string };
  rssBefore: number;
  rssPeak: number;
  cpuShare: number;
  alive: boolean;
}
const measured: Measured[] = [];
for (const attack of selected) {
  if (gateway.child.exitCode !== null) break;
  progress(`${attack.name}: ${windowMs / 1000} s before`);
  const beforeFrom = wallNow();
  await sleep(windowMs);
  const duringFrom = wallNow();
  progress(`${attack.name}: ${attack.title}`);
  const rssBefore = rssBytes(pid);
  const cpuBefore = cpuSeconds(pid);
  const rss = new RssSampler(pid, 50);
  const attackStart = performance.now();
  let result: Measured["result"];
  try {
    result = await attack.run(target, attackStart + windowMs);
  } catch (error) {
    result = { error: error instanceof Error ? error.message : String(error) };
  }
  const attackMs = performance.now() - attackStart;
  const duringTo = wallNow();
  const alive = gateway.child.exitCode === null;
  const cpuShare = alive ? (cpuSeconds(pid) - cpuBefore) / (attackMs / 1000) : Number.NaN;
  measured.push({
    name: attack.name,
    title: attack.title,
    bar: attack.bar,
    before: [beforeFrom, duringFrom],
    during: [
      "heldFrom" in result ? (result.heldFrom ?? duringFrom) : duringFrom,
      "heldTo" in result ? (result.heldTo ?? duringTo) : duringTo,
    ],
    result,
    rssBefore,
    rssPeak: rss.stop(),
    cpuShare,
    alive,
  });
  progress(`${attack.name}: ${"got" in result ? result.got : `FAILED: ${result.error}`}`);
  // Let what the attack left behind (thousands of sockets closing, a busy event loop) pass before the next "before".
  await sleep(quick ? 1_000 : 3_000);
}
// Calls started in the last window may still be running; they have the caller's timeout to finish.
await sleep(caller.timeoutMs + 500);
const aliveAtEnd = gateway.child.exitCode === null;
await stopAll();

const rows: Row[] = measured.map((m) => ({
  name: m.name,
  title: m.title,
  bar: m.bar,
  result: m.result,
  before: caller.window(...m.before),
  during: caller.window(...m.during),
  gatewayBefore: insideGateway(...m.before),
  gatewayDuring: insideGateway(...m.during),
  rssBeforeMiB: m.rssBefore / MiB,
  rssPeakMiB: m.rssPeak / MiB,
  cpuShare: m.cpuShare,
  alive: m.alive,
}));
const header = [
  `# weaver-gateway flood${quick ? " (--quick)" : ""}`,
  "",
  `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC · Node ${process.versions.node} (nghttp2 ${process.versions.nghttp2}) · ${cpus().length} × ${cpus()[0]?.model.trim()} · load average ${loadAtStart.toFixed(1)} → ${(loadavg()[0] ?? 0).toFixed(1)}`,
  `${pin.description} · good caller: ${rate} unary Generate calls/s over gRPC/h2c, open loop · windows of ${windowMs / 1000} s before and during each attack`,
  "",
];
const text = [...header, floodTable(rows), "", ...verdicts(rows, aliveAtEnd), ""].join("\n");
process.stdout.write(text);
const outFile = resolve(values.out);
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(
  outFile,
  `${JSON.stringify({ quick, rate, windowMs, pinning: pin.description, rows, aliveAtEnd, markdown: text }, null, 2)}\n`,
);
progress(`wrote ${outFile}`);
process.exit(aliveAtEnd ? 0 : 1);

/**
 * The good calls that started in [from, to), as the gateway logged them (its `time` is when a call
 * ended): whether a slow call was slow inside the gateway, or on the measuring side of the socket.
 */
function insideGateway(from: number, to: number): LatencySummary {
  const durations: number[] = [];
  for (const line of gateway.logs) {
    if (line.msg !== "rpc" || line.method !== "Generate") continue;
    const durationMs = Number(line.durationMs);
    const startedAt = Date.parse(String(line.time)) - durationMs;
    if (startedAt >= from && startedAt < to) durations.push(durationMs);
  }
  return summarize(durations);
}

function sizes(quick: boolean) {
  return { pairs: 10_000, controlFrames: 50_000, idle: quick ? 1_000 : 5_000, slowloris: quick ? 100 : 500 };
}
