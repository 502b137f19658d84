import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs, promisify } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  GatewayService,
  GenerateRequestSchema,
  GenerateStreamRequestSchema,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { spawnGateway } from "../../test/support/gateway-process.js";
import { positive } from "../args.js";
import { num } from "../format.js";
import { cpuSeconds } from "../proc.js";
import { DEPLOYED_NODE_FLAGS, detectPinning, ROOT } from "../processes.js";
import type { KnockJob, KnockResult } from "./knocker.js";

/**
 * `npm run overload`: a gateway process filled to `server.max_in_flight` with slow streams, then
 * knocked on by many more calls. Shows that the ones over the limit are refused at once
 * (RESOURCE_EXHAUSTED, with retry-after), that nothing queues, and that the admitted ones complete.
 */

const { values } = parseArgs({
  options: {
    "max-in-flight": { type: "string", default: "200" },
    knocks: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "20" },
    out: { type: "string", default: "bench/results/overload.json" },
  },
});
const maxInFlight = positive(values["max-in-flight"], "--max-in-flight");
const knocks = positive(values.knocks, "--knocks");
const concurrency = positive(values.concurrency, "--concurrency");
/**
 * Tokens per admitted stream and their pace: each holds its slot for about 20 s, longer than the
 * knocking takes, and costs little meanwhile, so the knocks measure the refusal and not the load.
 */
const STREAM_TOKENS = 40;
const TOKEN_MS = 500;

interface Burst {
  what: string;
  parallel: number;
  p50: number;
  p99: number;
  max: number;
  perSecond: number;
  gatewayCpuMsPerCall: number;
}

const gateway = await spawnGateway(
  {
    server: { host: "127.0.0.1", port: 0, max_in_flight: maxInFlight },
    providers: { demo: { type: "demo", inter_token_delay: `${TOKEN_MS}ms` } },
    models: { demo: { deployments: [{ provider: "demo", model: "demo" }] } },
  },
  { nodeFlags: DEPLOYED_NODE_FLAGS },
);
const pid = gateway.child.pid as number;
// The gateway on its own core, the callers on the other, as `npm run flood` does.
const pin = detectPinning(false);
if (pin.enabled) {
  execFileSync("taskset", ["-a", "-c", "-p", pin.gateway, String(pid)], { stdio: "ignore" });
  execFileSync("taskset", ["-a", "-c", "-p", pin.load, String(process.pid)], { stdio: "ignore" });
}
const clientOn = () => createClient(GatewayService, createGrpcTransport({ baseUrl: gateway.url }));
type GatewayClient = ReturnType<typeof clientOn>;
const messages = [{ role: "user", content: "Say hello to me" }];
const codes = new Map<string, number>();
let retryAfter = 0;

/** Fills the gateway; resolves once every stream is past its first token, with their ends (finished or not). */
async function fill(): Promise<Promise<boolean>[]> {
  // One connection per 50 streams, under the callers' 100-stream limit per connection.
  const fillers = Array.from({ length: Math.ceil(maxInFlight / 50) }, clientOn);
  let admitted = 0;
  let allAdmitted: () => void = () => {};
  const full = new Promise<void>((resolve) => (allAdmitted = resolve));
  const streams = Array.from({ length: maxInFlight }, async (_, i) => {
    // Started evenly over one token interval, as callers arriving on their own would be: started
    // together, every stream's tokens would come in one burst per interval, and a knock that
    // landed in a burst would time the burst (here and in the gateway), not the refusal.
    await sleep((i * TOKEN_MS) / maxInFlight);
    const client = fillers[i % fillers.length] as GatewayClient;
    const request = create(GenerateStreamRequestSchema, {
      model: "demo",
      messages,
      maxTokens: STREAM_TOKENS,
    });
    let finished = false;
    let first = true;
    for await (const { event } of client.generateStream(request, { timeoutMs: 120_000 })) {
      if (first && event.case === "delta") {
        first = false;
        if (++admitted === maxInFlight) allAdmitted();
      }
      if (event.case === "finish") finished = true;
    }
    return finished;
  });
  await full;
  return streams;
}

/**
 * `count` unary calls to `method`, `parallel` at a time, from the knocker process (see knocker.ts),
 * each timed from send to status; the gateway's CPU per call beside.
 */
async function knock(
  count: number,
  parallel: number,
  method: "Generate" | "ListModels",
  what = "refusal",
): Promise<Burst> {
  const body =
    method === "Generate"
      ? toBinary(GenerateRequestSchema, create(GenerateRequestSchema, { model: "demo", messages }))
      : new Uint8Array();
  const job: KnockJob = {
    url: gateway.url,
    path: `/${GatewayService.typeName}/${method}`,
    body: Buffer.from(body).toString("hex"),
    count,
    parallel,
  };
  const args = ["--import", "tsx", "bench/overload/knocker.ts", JSON.stringify(job)];
  const cpuBefore = cpuSeconds(pid);
  // Not a blocking exec: the admitted streams keep reading meanwhile, as their callers would.
  const { stdout: output } = await promisify(execFile)(
    pin.enabled ? "taskset" : process.execPath,
    pin.enabled ? ["-c", pin.load, process.execPath, ...args] : args,
    { cwd: ROOT, encoding: "utf8" },
  );
  const cpuAfter = cpuSeconds(pid);
  const knocked = JSON.parse(output) as KnockResult;
  if (what === "refusal") {
    for (const [status, n] of Object.entries(knocked.statuses)) {
      const code = Number.isInteger(Number(status)) ? Code[Number(status)] : `no status (${status})`;
      codes.set(code ?? status, (codes.get(code ?? status) ?? 0) + n);
    }
    retryAfter += knocked.retryAfter;
  }
  const latencies = knocked.latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    what,
    parallel,
    p50: at(0.5),
    p99: at(0.99),
    max: latencies.at(-1) ?? 0,
    perSecond: count / knocked.seconds,
    gatewayCpuMsPerCall: ((cpuAfter - cpuBefore) * 1000) / count,
  };
}

try {
  const streams = await fill();
  // Beside, the same number of the cheapest admitted call (ListModels): what this machine and this
  // client cost anyway, so the refusal's own share shows.
  const baseline = await knock(knocks / 2, 1, "ListModels", "ListModels (admitted, baseline)");
  // One at a time: each refusal's own latency. Then a burst: what queueing adds.
  const bursts = [
    baseline,
    await knock(knocks / 2, 1, "Generate"),
    await knock(knocks / 2, concurrency, "Generate"),
  ];
  const completed = (await Promise.all(streams)).filter(Boolean).length;

  const result = { maxInFlight, knocks, bursts, codes: Object.fromEntries(codes), retryAfter, completed };
  const rows = [
    ["calls in flight (server.max_in_flight)", num(maxInFlight)],
    [
      "knocks over the limit",
      `${num(knocks / 2)} one at a time, then ${num(knocks / 2)} ${concurrency} at a time`,
    ],
    ["answers", [...codes].map(([code, n]) => `${code} ${num(n)}`).join(", ")],
    ["with retry-after: 1", num(retryAfter)],
    ...bursts.map((b) => [
      `${b.what} latency p50 / p99 / max, ${b.parallel} at a time`,
      `${num(b.p50, 2)} / ${num(b.p99, 2)} / ${num(b.max, 2)} ms (${num(b.perSecond)}/s; gateway CPU ${num(b.gatewayCpuMsPerCall, 2)} ms a call)`,
    ]),
    ["admitted streams completed", `${num(completed)} / ${num(maxInFlight)}`],
  ];
  process.stdout.write(`# weaver-gateway overload\n\n${pin.description}\n\n| | |\n| --- | --- |\n`);
  for (const [name, value] of rows) process.stdout.write(`| ${name} | ${value} |\n`);
  const out = resolve(values.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`\nwrote ${out}\n`);
  const refusedAll = codes.get("ResourceExhausted") === knocks;
  process.exitCode = refusedAll && completed === maxInFlight ? 0 : 1;
} finally {
  await gateway.dispose();
}
