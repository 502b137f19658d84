import { availableParallelism } from "node:os";
import { num, ratio, spread } from "../format.js";
import type { LoadResult } from "../job.js";
import { ensureLoadTools } from "../load-tools/ensure-load-tools.js";
import { runH2load } from "../load-tools/h2load.js";
import { busyShare, coreJiffies, untilIdle } from "../load-tools/host.js";
import { runWrk } from "../load-tools/wrk.js";
import { childPids, cpuSeconds, exitedChildrenCpuSeconds } from "../proc.js";
import type { GatewayProcess } from "../processes.js";
import { type Measure, measure, Rounds, ratioMeasure } from "../stats.js";
import { type BenchContext, inRounds, type Scenario } from "./context.js";
import { h2loadGenerate, MAX_TOKENS, RunSizes } from "./h2load-generate.js";
import { chatBody } from "./peers-setup.js";
import { TOLERATED_FAILURES } from "./peers-unary.js";

const WORKERS = [1, 2] as const;
const APIS = ["grpc", "openai"] as const;
const CONCURRENCIES = [16, 64] as const;
const NAMES = { grpc: "gRPC Generate (h2c)", openai: "OpenAI API (HTTP/1.1)" } as const;
/** One HTTP/2 connection is served by one worker: h2load opens 8, which round robin spreads. */
const H2_CONNECTIONS = 8;
/**
 * CPU shares per run, 1 being one core: the gateway (its processes together), its primary alone,
 * the upstream, the load tool, and the rest of the machine.
 */
const CPU = ["gateway", "primary", "upstream", "loadTool", "rest"] as const;

interface Side {
  api: (typeof APIS)[number];
  c: number;
  workers: (typeof WORKERS)[number];
}

const key = ({ api, c, workers }: Side) => `${api}.c${c}.w${workers}`;

/**
 * The same gateway with `server.workers: 1` and 2, side by side under the same load from wrk and
 * h2load against the shared zero-delay upstream. Both run on every core: a 2-worker gateway
 * pinned to one core could show nothing.
 */
export const workers: Scenario = {
  name: "workers",
  title: "requests per second with server.workers 2 against 1, both gateways on every core",
  // Two more gateways and 48 runs of 2 s: more than the quick run has room for.
  fullRunOnly: true,
  async run(ctx: BenchContext) {
    const runMs = ctx.options.quick ? 500 : 2000;
    ensureLoadTools(ctx.progress);
    const upstream = await ctx.upstream();
    const gateways = new Map<number, GatewayProcess>();
    for (const n of WORKERS) {
      const gw = await ctx.gateway(`workers-${n}`, upstream.origin, upstream.caFile, {}, [], {
        server: { workers: n },
        pinned: false,
      });
      const forked = childPids(gw.pid).length;
      if (forked !== (n > 1 ? n : 0)) throw new Error(`the ${n}-worker gateway has ${forked} children`);
      // h2load cannot read trailers: one call through the load generator checks grpc-status.
      for (const protocol of ["grpc", "openai"] as const)
        await ctx.run({ target: gw.url, protocol, rpc: "generate", count: 1, maxTokens: 4 });
      gateways.set(n, gw);
    }
    const cores = availableParallelism();
    const allCores = `0-${cores - 1}`;
    const loadCpus = ctx.pin.enabled ? ctx.pin.load : undefined;
    const sizes = new RunSizes();
    const r = new Rounds();
    const sides = APIS.flatMap((api) =>
      CONCURRENCIES.flatMap((c) => WORKERS.map((workers): Side => ({ api, c, workers }))),
    );
    await inRounds(ctx, sides, async (side, round) => {
      const gw = gateways.get(side.workers) as GatewayProcess;
      // The primary and its workers, if any: the load tool's last calls must have drained from all.
      const pids = [gw.pid, ...childPids(gw.pid)];
      await Promise.all(pids.map((pid) => untilIdle(pid)));
      const durationMs = round === 0 ? runMs * 1.5 : runMs;
      const before = {
        gateway: pids.map(cpuSeconds),
        upstream: cpuSeconds(upstream.pid),
        loadTool: exitedChildrenCpuSeconds(),
        cores: coreJiffies(allCores),
      };
      let result: LoadResult;
      if (side.api === "grpc") {
        const load = { streams: side.c, connections: H2_CONNECTIONS, tmpDir: ctx.tmpDir };
        const count = sizes.count(key(side), durationMs, side.c);
        result = await runH2load(h2loadGenerate(gw.url, true, { ...load, count }), loadCpus);
      } else {
        const job = { url: `${gw.url}/v1/chat/completions`, body: chatBody("demo", MAX_TOKENS) };
        const threads = ctx.pin.enabled ? cores - 1 : 1;
        result = await runWrk({ ...job, connections: side.c, durationMs, threads }, loadCpus);
      }
      if (String(childPids(gw.pid)) !== String(pids.slice(1))) {
        throw new Error(`a worker of the ${side.workers}-worker gateway exited during ${key(side)}`);
      }
      if (result.errors > TOLERATED_FAILURES * result.calls) {
        throw new Error(`${key(side)}: ${result.errors}/${result.calls} calls failed: ${result.firstError}`);
      }
      sizes.observe(key(side), result.rps);
      const seconds = result.elapsedMs / 1000;
      const gwSeconds = pids.map((pid, i) => cpuSeconds(pid) - (before.gateway[i] as number));
      const share: Record<(typeof CPU)[number], number> = {
        gateway: gwSeconds.reduce((a, b) => a + b, 0) / seconds,
        // A single process is its own primary: nothing to split.
        primary: side.workers > 1 ? (gwSeconds[0] as number) / seconds : Number.NaN,
        upstream: (cpuSeconds(upstream.pid) - before.upstream) / seconds,
        loadTool: (exitedChildrenCpuSeconds() - before.loadTool) / seconds,
        rest: 0,
      };
      share.rest =
        busyShare(before.cores, coreJiffies(allCores)) * cores -
        share.gateway -
        share.upstream -
        share.loadTool;
      ctx.progress(
        `${round === 0 ? "warm-up" : `round ${round}`} ${key(side)}: ${result.rps.toFixed(0)} req/s, ` +
          `p99 ${result.latency.p99.toFixed(2)} ms, CPU: ${CPU.map((k) => `${k} ${pct(share[k])}`).join(", ")}` +
          (result.errors > 0 ? `; ${result.errors} failed (${result.firstError})` : ""),
      );
      if (round === 0) return;
      r.add(`${key(side)}.rps`, result.rps);
      r.add(`${key(side)}.p50`, result.latency.p50);
      r.add(`${key(side)}.p99`, result.latency.p99);
      r.add(`${key(side)}.failed`, result.errors);
      for (const k of CPU) r.add(`${key(side)}.${k}Cpu`, share[k]);
    });
    return workersReport(r, sides, { runMs, cores, pinnedLoad: loadCpus });
  },
};

function workersReport(
  r: Rounds,
  sides: Side[],
  plan: { runMs: number; cores: number; pinnedLoad: string | undefined },
) {
  const m = (side: Side, figure: string) => r.measure(`${key(side)}.${figure}`);
  const pairs = APIS.flatMap((api) => CONCURRENCIES.map((c) => ({ api, c })));
  const twoOverOne = (api: Side["api"], c: number): Measure =>
    ratioMeasure(r.get(`${key({ api, c, workers: 2 })}.rps`), r.get(`${key({ api, c, workers: 1 })}.rps`));
  // The gateway, upstream and load tool all grow with req/s: at the 1-worker run's CPU per call,
  // the whole machine would carry this many times its req/s.
  const ceiling = (api: Side["api"], c: number): Measure => {
    const one = (k: (typeof CPU)[number]) => r.get(`${key({ api, c, workers: 1 })}.${k}Cpu`);
    const [upstream, loadTool] = [one("upstream"), one("loadTool")];
    return measure(
      one("gateway").map((g, i) => plan.cores / (g + (upstream[i] as number) + (loadTool[i] as number))),
    );
  };
  const data: Record<string, unknown> = {};
  for (const side of sides) {
    for (const figure of ["rps", "p50", "p99", "failed", ...CPU.map((k) => `${k}Cpu`)])
      data[`${key(side)}.${figure}`] = m(side, figure);
  }
  for (const { api, c } of pairs) {
    data[`twoOverOne.${api}.c${c}`] = twoOverOne(api, c);
    data[`ceiling.${api}.c${c}`] = ceiling(api, c);
  }
  return {
    params: {
      workers: WORKERS,
      concurrencies: CONCURRENCIES,
      runMs: plan.runMs,
      h2loadConnections: H2_CONNECTIONS,
      maxTokens: MAX_TOKENS,
    },
    tables: [
      [
        ["API", "concurrency", "1 worker (req/s)", "2 workers (req/s)", "2 ÷ 1", "the machine's ceiling"],
        ...pairs.map(({ api, c }) => [
          NAMES[api],
          String(c),
          spread(m({ api, c, workers: 1 }, "rps")),
          spread(m({ api, c, workers: 2 }, "rps")),
          ratio(twoOverOne(api, c)),
          ratio(ceiling(api, c)),
        ]),
      ],
      [
        [
          "API",
          "concurrency",
          "workers",
          "req/s",
          "p50 (ms)",
          "p99 (ms)",
          "gateway CPU (%)",
          "of which primary (%)",
          "upstream CPU (%)",
          "load tool CPU (%)",
          "rest of the machine (%)",
        ],
        ...sides.map((side) => [
          NAMES[side.api],
          String(side.c),
          String(side.workers),
          spread(m(side, "rps")),
          spread(m(side, "p50"), 2),
          spread(m(side, "p99"), 2),
          ...CPU.map((k) =>
            k === "primary" && side.workers === 1 ? "–" : spread(m(side, `${k}Cpu`), 0, 100),
          ),
        ]),
      ],
    ],
    notes: [
      `2 workers ÷ 1 worker, req/s (within each round, then the median): ${pairs.map(({ api, c }) => `${NAMES[api]} c=${c} ${ratio(twoOverOne(api, c))}`).join(", ")}. The target is ×1.7.`,
      `Neither gateway is pinned: both run on all ${plan.cores} cores, the same policy for both sides (a 2-worker gateway pinned to one core could show nothing). ` +
        `The shared upstream and the load tools stay ${plan.pinnedLoad === undefined ? "unpinned" : `on CPU ${plan.pinnedLoad}`}, so the gateway shares cores with them.`,
      `The machine's ceiling is its ${plan.cores} cores over what the gateway, upstream and load tool spent with 1 worker: ` +
        "the most 2 ÷ 1 could reach here if the CPU per call held and nothing else ran.",
      `CPU is in % of one core (${num(plan.cores * 100)}% is the whole machine), from /proc over each run: the gateway's is its primary's and its workers' together; ` +
        "the load tool's is the wrk or h2load process's own, once it has exited; the rest is every other process and the kernel, the bench's own included.",
      `gRPC: h2load over ${H2_CONNECTIONS} h2c connections (round robin gives each worker ${H2_CONNECTIONS / 2}), the concurrency's streams spread over them; ` +
        `OpenAI API: wrk, one HTTP/1.1 connection per call in flight. Runs of ${plan.runMs} ms (h2load's by count), after a discarded round of ${plan.runMs * 1.5} ms.`,
    ],
    data,
    chart: [
      {
        title: "workers: requests per second, server.workers 1 vs 2 (not pinned)",
        unit: "req/s",
        bars: sides.map((side) => {
          const x = m(side, "rps");
          const tone = side.workers === 1 ? ("a" as const) : ("b" as const);
          const label = `${NAMES[side.api]} c=${side.c}, ${side.workers} worker${side.workers > 1 ? "s" : ""}`;
          return { label, value: x.median, min: x.min, max: x.max, tone };
        }),
      },
    ],
  };
}

function pct(share: number): string {
  return Number.isFinite(share) ? `${(share * 100).toFixed(0)}%` : "–";
}
