import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
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
import { DEPLOYED_NODE_FLAGS, detectPinning } from "../processes.js";

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

/** `count` unary calls, `parallel` at a time, each timed from send to answer; the gateway's CPU per call beside. */
async function knock(
  count: number,
  parallel: number,
  call: () => Promise<unknown>,
  what = "refusal",
): Promise<Burst> {
  const latencies: number[] = [];
  let next = 0;
  const cpuBefore = cpuSeconds(pid);
  const startedAt = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next++ < count) {
        const sentAt = performance.now();
        let code = "OK";
        try {
          await call();
        } catch (error) {
          const e = ConnectError.from(error);
          code = Code[e.code];
          if (e.metadata.get("retry-after") === "1") retryAfter++;
        }
        latencies.push(performance.now() - sentAt);
        if (what === "refusal") codes.set(code, (codes.get(code) ?? 0) + 1);
      }
    }),
  );
  const seconds = (performance.now() - startedAt) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    what,
    parallel,
    p50: at(0.5),
    p99: at(0.99),
    max: latencies.at(-1) ?? 0,
    perSecond: count / seconds,
    gatewayCpuMsPerCall: ((cpuSeconds(pid) - cpuBefore) * 1000) / count,
  };
}

try {
  const streams = await fill();
  const knocker = clientOn();
  const generate = () => knocker.generate(create(GenerateRequestSchema, { model: "demo", messages }));
  // Beside, the same number of the cheapest admitted call (ListModels): what this machine and these
  // clients cost anyway, so the refusal's own share shows.
  const baseline = await knock(
    knocks / 2,
    1,
    () => knocker.listModels({}),
    "ListModels (admitted, baseline)",
  );
  // One at a time: each refusal's own latency. Then a burst: what queueing adds.
  const bursts = [
    baseline,
    await knock(knocks / 2, 1, generate),
    await knock(knocks / 2, concurrency, generate),
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
