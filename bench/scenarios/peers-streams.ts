import type { LoadJob } from "../job.js";
import { connectionsTo, untilIdle } from "../load-tools/host.js";
import { cpuSeconds, RssSampler } from "../proc.js";
import { Rounds } from "../stats.js";
import { type BenchContext, inRounds } from "./context.js";
import { type Peers, route } from "./peers-setup.js";

/**
 * The streaming rounds of the peers scenario: `stream: true` chat completions from the paced
 * upstream (a delta every 20 ms), through either gateway's OpenAI API and this gateway's
 * GenerateStream, beside the same streams read straight from the upstream.
 */

export type StreamSide = "direct" | "weaver" | "weaver-grpc" | "portkey";
export const STREAM_SIDES: readonly StreamSide[] = ["direct", "weaver", "weaver-grpc", "portkey"];
/** The 1,000-stream pace check: the OpenAI API of each gateway against direct. */
export const PACE_SIDES: readonly StreamSide[] = ["direct", "weaver", "portkey"];
/** Upstream HTTP/2 streams per connection for `direct`, as this gateway's pool for the paced upstream. */
const DIRECT_STREAMS_PER_CONNECTION = 256;

export interface StreamPlan {
  streams: number;
  deltas: number;
  rounds: number;
  /** Whether round 0 is a smaller warm-up to discard. */
  warmUp: boolean;
}

/** Runs `plan.streams` concurrent streams per side per round; figures go under `${prefix}.${side}`. */
export async function streamRounds(
  ctx: BenchContext,
  peers: Peers,
  sides: readonly StreamSide[],
  plan: StreamPlan,
  prefix: string,
  r = new Rounds(),
): Promise<Rounds> {
  const upstream = peers.upstreams.paced;
  const upstreamPort = Number(new URL(upstream.origin).port);
  ctx.progress(`${plan.streams} concurrent streams × ${plan.deltas} deltas: ${sides.join(", ")}`);
  await inRounds(
    ctx,
    sides,
    async (side, round) => {
      if (round === 0 && !plan.warmUp) return;
      const streams = round === 0 ? Math.ceil(plan.streams / 5) : plan.streams;
      await Promise.all(Object.values(peers.gateways).map((gw) => untilIdle(gw.pid)));
      const job = streamJob(peers, side, streams, plan.deltas);
      const gateway =
        side === "direct" ? undefined : peers.gateways[side === "portkey" ? "portkey" : "weaver"];
      const rss = gateway ? new RssSampler(gateway.pid) : undefined;
      const cpuBefore = gateway ? cpuSeconds(gateway.pid) : 0;
      const result = await ctx.load.run(job);
      const peak = rss?.stop();
      const cpu = gateway ? cpuSeconds(gateway.pid) - cpuBefore : Number.NaN;
      const connections = gateway ? connectionsTo(gateway.pid, upstreamPort) : Number.NaN;
      const deltas = result.deltas ?? 0;
      const complete = result.calls - result.errors;
      const deltasPerSecond = (deltas * 1000) / result.elapsedMs;
      ctx.progress(
        `${round === 0 ? "warm-up" : `round ${round}`} ${streams} streams ${side}: ${complete}/${result.calls} ok, ` +
          `${deltas} deltas, first delta p50 ${result.firstDelta?.p50.toFixed(1)} ms p99 ${result.firstDelta?.p99.toFixed(1)} ms, ` +
          `duration p50 ${result.latency.p50.toFixed(0)} ms, ${deltasPerSecond.toFixed(0)} deltas/s` +
          (gateway
            ? `, gateway ${((cpu * 1e6) / Math.max(1, deltas)).toFixed(1)} µs CPU per delta, ${connections} upstream connections`
            : "") +
          (result.errors > 0 ? `; first error: ${result.firstError}` : ""),
      );
      if (round === 0) return;
      const key = `${prefix}.${side}`;
      r.add(`${key}.ok`, complete);
      r.add(`${key}.errors`, result.errors);
      r.add(`${key}.deltasPerStream`, complete === 0 ? 0 : deltas / complete);
      r.add(`${key}.ttfdP50`, result.firstDelta?.p50 ?? Number.NaN);
      r.add(`${key}.ttfdP99`, result.firstDelta?.p99 ?? Number.NaN);
      r.add(`${key}.durationP50`, result.latency.p50);
      r.add(`${key}.deltasPerSecond`, deltasPerSecond);
      if (gateway) {
        r.add(`${key}.cpuPerDeltaUs`, (cpu * 1e6) / Math.max(1, deltas));
        r.add(`${key}.rssPeak`, peak ?? Number.NaN);
        r.add(`${key}.connections`, connections);
      }
    },
    plan.rounds,
  );
  return r;
}

function streamJob(peers: Peers, side: StreamSide, streams: number, deltas: number): LoadJob {
  const base = { rpc: "stream", concurrency: streams, count: streams, maxTokens: deltas } as const;
  const upstream = peers.upstreams.paced;
  if (side === "direct") {
    // The gateway's own way to the upstream (TLS h2, 4 connections), so no burst of TLS handshakes
    // lands in the baseline's time to first delta.
    const perConnection = DIRECT_STREAMS_PER_CONNECTION;
    return {
      ...base,
      target: upstream.origin,
      protocol: "direct",
      caFile: upstream.caFile,
      streamsPerConnection: perConnection,
    };
  }
  if (side === "weaver-grpc") {
    return {
      ...base,
      target: peers.gateways.weaver.url,
      protocol: "grpc",
      model: route(peers, "weaver", "paced").model,
    };
  }
  const { url, model, headers } = route(peers, side, "paced");
  return { ...base, target: url, protocol: "openai", model, headers };
}
