import { availableParallelism } from "node:os";
import type { LoadResult } from "../job.js";
import { runH2load } from "../load-tools/h2load.js";
import { busyShare, connectionsTo, coreJiffies, untilIdle } from "../load-tools/host.js";
import { runWrk } from "../load-tools/wrk.js";
import { cpuSeconds, RssSampler } from "../proc.js";
import { Rounds } from "../stats.js";
import { type BenchContext, inRounds } from "./context.js";
import { h2loadGenerate, MAX_TOKENS, RunSizes } from "./h2load-generate.js";
import { chatBody, type GatewayName, type Peers, route, type UpstreamKind } from "./peers-setup.js";

/** The unary rounds of the peers scenario: wrk over HTTP/1.1 to each gateway and straight to each upstream, h2load over h2c. */

export const CONCURRENCIES = [1, 16, 64] as const;
export const ZERO_DELAY: readonly UpstreamKind[] = ["h1", "h2"];
/**
 * Calls that may fail in a run before the scenario does. A gateway that sheds load (this one
 * refuses calls while its event loop lags over 500 ms, as a busy machine can make it) is counted,
 * not failed; the report gives the counts.
 */
export const TOLERATED_FAILURES = 0.02;

/** What drives the load: wrk to a gateway's OpenAI API or the upstream, or h2load to this gateway over h2c. */
export type UnarySide =
  | { tool: "wrk"; via: GatewayName | "direct"; upstream: UpstreamKind; c: number }
  /** grpc and h2c (OpenAI API) reach this gateway, direct the TLS upstream over h2; all with model demo. */
  | { tool: "h2load"; api: "grpc" | "h2c" | "direct"; c: number };

export function unaryKey(side: UnarySide): string {
  return side.tool === "wrk" ? `${side.via}.${side.upstream}.c${side.c}` : `h2load.${side.api}.c${side.c}`;
}

/** Every side; `quick` leaves out direct at c=16 and 64 (the upstream's own capacity, not needed for a ratio). */
export function unarySides(quick: boolean): UnarySide[] {
  const wrk = ZERO_DELAY.flatMap((upstream) =>
    (["direct", "weaver", "portkey"] as const).flatMap((via) =>
      CONCURRENCIES.filter((c) => !(quick && via === "direct" && c > 1)).map((c) => ({
        tool: "wrk" as const,
        via,
        upstream,
        c,
      })),
    ),
  );
  const h2load = (["grpc", "h2c"] as const).flatMap((api) =>
    CONCURRENCIES.map((c) => ({ tool: "h2load" as const, api, c })),
  );
  // The h2load baseline is needed only for the added latency at c=1.
  return [...wrk, ...h2load, { tool: "h2load", api: "direct", c: 1 }];
}

/**
 * Runs every side in each round, in alternating order, each for `runMs` (half that in the
 * discarded first round; h2load for about as long, by count). Per run: req/s, p50, p99, gateway CPU, the upstream's and the load
 * cores' CPU, and at c=64 the gateway's RSS peak and its open upstream connections.
 */
export async function unaryRounds(
  ctx: BenchContext,
  peers: Peers,
  runMs: number,
  rounds: number,
): Promise<Rounds> {
  const r = new Rounds();
  const sizes = new RunSizes();
  const loadCpus = ctx.pin.enabled ? ctx.pin.load : undefined;
  const loadCores = ctx.pin.enabled ? availableParallelism() - 1 : 1;
  await inRounds(
    ctx,
    unarySides(ctx.options.quick),
    async (side, round) => {
      // With --quick, the warm-up has just run every wrk path: only h2load's need a round first.
      if (round === 0 && ctx.options.quick && side.tool === "wrk") return;
      const key = unaryKey(side);
      const via = side.tool === "wrk" ? side.via : side.api === "direct" ? "direct" : "weaver";
      const upstream = peers.upstreams[side.tool === "wrk" ? side.upstream : "h2"];
      const gateway = via === "direct" ? undefined : peers.gateways[via];
      const durationMs = round === 0 ? runMs / 2 : runMs;
      // The last run's calls in flight when its tool stopped must not queue ahead of this run's.
      await Promise.all(Object.values(peers.gateways).map((gw) => untilIdle(gw.pid)));
      const rss = gateway !== undefined && side.c === 64 ? new RssSampler(gateway.pid, 50) : undefined;
      const before = {
        gw: gateway ? cpuSeconds(gateway.pid) : 0,
        up: cpuSeconds(upstream.pid),
        core: coreJiffies(ctx.pin.load),
      };
      let result: LoadResult;
      if (side.tool === "wrk") {
        const { url, model, headers } = route(peers, side.via, side.upstream);
        const job = {
          url: `${url}/v1/chat/completions`,
          body: chatBody(model, MAX_TOKENS),
          headers,
          connections: side.c,
        };
        result = await runWrk({ ...job, durationMs, threads: loadCores }, loadCpus);
      } else {
        const base = side.api === "direct" ? upstream.origin : peers.gateways.weaver.url;
        const load = { streams: side.c, count: sizes.count(key, durationMs, side.c), tmpDir: ctx.tmpDir };
        result = await runH2load(h2loadGenerate(base, side.api === "grpc", load), loadCpus);
      }
      const seconds = result.elapsedMs / 1000;
      const gwCpu = gateway ? cpuSeconds(gateway.pid) - before.gw : Number.NaN;
      const upShare = (cpuSeconds(upstream.pid) - before.up) / seconds;
      const coreShare = busyShare(before.core, coreJiffies(ctx.pin.load));
      const peak = rss?.stop();
      const connections = gateway
        ? connectionsTo(gateway.pid, Number(new URL(upstream.origin).port))
        : Number.NaN;
      if (result.errors > TOLERATED_FAILURES * result.calls) {
        throw new Error(`${key}: ${result.errors}/${result.calls} calls failed: ${result.firstError}`);
      }
      sizes.observe(key, result.rps);
      ctx.progress(
        `${round === 0 ? "warm-up" : `round ${round}`} ${key}: ${result.rps.toFixed(0)} req/s, p50 ${result.latency.p50.toFixed(2)} ms, ` +
          `p99 ${result.latency.p99.toFixed(2)} ms, gateway CPU ${pct(gwCpu / seconds)}, upstream ${pct(upShare)}, load cores ${pct(coreShare)}` +
          (gateway ? `, ${connections} upstream connections` : "") +
          (result.errors > 0 ? `; ${result.errors} failed (${result.firstError})` : ""),
      );
      if (round === 0) return;
      const ok = result.calls - result.errors;
      // A gateway stalled for the whole run (a busy machine can make it) has no rate or latency to
      // give: NaN, left out of the medians, and the run is counted in the report.
      const orNaN = (value: number) => (ok === 0 ? Number.NaN : value);
      r.add(`${key}.empty`, ok === 0 ? 1 : 0);
      r.add(`${key}.failed`, result.errors);
      r.add(`${key}.rps`, orNaN(result.rps));
      r.add(`${key}.p50`, orNaN(result.latency.p50));
      r.add(`${key}.p99`, orNaN(result.latency.p99));
      r.add(`${key}.cpuPer1k`, orNaN((gwCpu * 1000) / ok));
      r.add(`${key}.gatewayShare`, gwCpu / seconds);
      r.add(`${key}.upstreamShare`, upShare);
      r.add(`${key}.loadCoreShare`, coreShare);
      if (gateway) r.add(`${key}.connections`, connections);
      if (peak !== undefined) r.add(`${via}.c64.rssPeak`, peak);
    },
    rounds,
  );
  return r;
}

function pct(share: number): string {
  return Number.isFinite(share) ? `${(share * 100).toFixed(0)}%` : "–";
}
