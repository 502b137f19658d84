import { ratio, spread } from "../format.js";
import { cpuSeconds } from "../proc.js";
import { Rounds, ratioMeasure } from "../stats.js";
import { type BenchContext, inRounds, poolDelta, poolTotals, type Scenario } from "./context.js";

const CONCURRENCY = 50;
const QUICK_CAP_MS = 2500;
/**
 * Both gateways run the same load for this long before they are measured, as a gateway in
 * service has. V8 optimizes per call, not per second, and in the same time the pooled gateway
 * serves about four calls to the unpooled one's one: measured here, the pooled gateway's CPU per call fell from 0.8-1.1 ms
 * over its first 3,000 calls to 0.35-0.45 ms from about 12,000 on; the unpooled one's levels off
 * at about 1.7 ms within 5,000.
 */
const WARM_UP_MS = { full: 15_000, quick: 6_000 };
/** A round here takes about a second, so even --quick affords the median of seven. */
const MIN_ROUNDS = 7;
const SIDES = ["pooled", "unpooled"] as const;

/** The original claim: the same load through a pooled and an unpooled gateway, against a TLS h2 upstream. */
export const seed: Scenario = {
  name: "seed",
  title: `Generate calls at concurrency ${CONCURRENCY}, pooling vs \`pooling: false\` (TLS HTTP/2 upstream)`,
  async run(ctx: BenchContext) {
    const calls = 500;
    const upstream = await ctx.upstream();
    const [pooled, unpooled] = await Promise.all([
      ctx.gateway("pooled", upstream.origin, upstream.caFile),
      ctx.gateway("unpooled", upstream.origin, upstream.caFile, { pooling: false }),
    ]);
    const gateways = { pooled, unpooled };
    const rounds = Math.max(ctx.options.rounds, MIN_ROUNDS);
    const warmUpMs = ctx.options.quick ? WARM_UP_MS.quick : WARM_UP_MS.full;
    const warmUpCalls: Record<string, number> = {};
    const r = new Rounds();
    let protocol = "";
    await inRounds(
      ctx,
      SIDES,
      async (side, round) => {
        const gw = gateways[side];
        const before = await poolTotals(gw.url);
        const cpuBefore = cpuSeconds(gw.pid);
        const job = { target: gw.url, protocol: "grpc", rpc: "generate", concurrency: CONCURRENCY } as const;
        const length =
          round === 0 ? { durationMs: warmUpMs } : { count: calls, ...ctx.quickCap(QUICK_CAP_MS) };
        const result = await ctx.run({ ...job, ...length, maxTokens: 16 });
        const cpu = cpuSeconds(gw.pid) - cpuBefore;
        const pool = poolDelta(before, await poolTotals(gw.url));
        protocol = pool.protocol;
        const reuse = pool.requests === 0 ? 0 : pool.reusedRequests / pool.requests;
        const cpuPer1k = (cpu * 1000) / result.calls;
        ctx.progress(
          `${round === 0 ? "warm-up" : `round ${round}`} ${side}: ${result.rps.toFixed(0)} req/s, ` +
            `p50 ${result.latency.p50.toFixed(1)} ms, p99 ${result.latency.p99.toFixed(1)} ms, ` +
            `${pool.connectionsCreated} connections, reuse ${(reuse * 100).toFixed(1)}%, CPU ${cpuPer1k.toFixed(3)} s/1k`,
        );
        if (round === 0) {
          warmUpCalls[side] = result.calls;
          return;
        }
        r.add(`${side}.calls`, result.calls);
        r.add(`${side}.rps`, result.rps);
        r.add(`${side}.p50`, result.latency.p50);
        r.add(`${side}.p99`, result.latency.p99);
        r.add(`${side}.connections`, pool.connectionsCreated);
        r.add(`${side}.reuse`, reuse);
        r.add(`${side}.cpuPer1k`, cpuPer1k);
      },
      rounds,
    );

    const m = (name: string) => r.measure(name);
    const gain = (metric: string, higherIsBetter: boolean) =>
      higherIsBetter
        ? ratioMeasure(r.get(`pooled.${metric}`), r.get(`unpooled.${metric}`))
        : ratioMeasure(r.get(`unpooled.${metric}`), r.get(`pooled.${metric}`));
    const row = (label: string, metric: string, digits: number, higherIsBetter: boolean, scale = 1) => [
      label,
      spread(m(`pooled.${metric}`), digits, scale),
      spread(m(`unpooled.${metric}`), digits, scale),
      ratio(gain(metric, higherIsBetter)),
    ];
    const data = Object.fromEntries(
      SIDES.flatMap((side) =>
        ["rps", "p50", "p99", "connections", "reuse", "cpuPer1k"].map((k) => [
          `${side}.${k}`,
          m(`${side}.${k}`),
        ]),
      ),
    );
    const ratios = {
      rps: gain("rps", true),
      p50: gain("p50", false),
      p99: gain("p99", false),
      cpuPer1k: gain("cpuPer1k", false),
    };
    const bar = (side: (typeof SIDES)[number], metric: string) => {
      const x = m(`${side}.${metric}`);
      return {
        label: side === "pooled" ? "pooling" : "pooling: false",
        value: x.median,
        min: x.min,
        max: x.max,
        tone: side === "pooled" ? ("a" as const) : ("b" as const),
      };
    };
    return {
      params: {
        calls,
        rounds,
        warmUpMs,
        warmUpCalls,
        concurrency: CONCURRENCY,
        client: "gRPC over h2c (node:http2)",
        maxTokens: 16,
      },
      tables: [
        [
          [`${calls} calls, c=${CONCURRENCY}`, "pooling", "pooling: false", "pooling's gain"],
          row("requests per second", "rps", 0, true),
          row("p50 latency (ms)", "p50", 2, false),
          row("p99 latency (ms)", "p99", 2, false),
          [
            "upstream connections created",
            spread(m("pooled.connections")),
            spread(m("unpooled.connections")),
            "",
          ],
          ["reuse rate (%)", spread(m("pooled.reuse"), 1, 100), spread(m("unpooled.reuse"), 1, 100), ""],
          row("gateway CPU s per 1000 requests", "cpuPer1k", 3, false),
        ],
      ],
      notes: [
        `Upstream: the demo upstream, standalone, over TLS with ALPN ${protocol || "?"}; the client speaks gRPC to the gateway ` +
          "(a lean client on node:http2, so that the gateway, not the load generator, is what saturates).",
        `Figures here are medians of ${rounds} rounds. Each gateway first ran the same load for ${warmUpMs / 1000} s, not counted, ` +
          `so both are measured with their code optimized: pooled ${(warmUpCalls.pooled ?? 0).toLocaleString("en")} calls, ` +
          `unpooled ${(warmUpCalls.unpooled ?? 0).toLocaleString("en")}.`,
        "CPU is the gateway process's own utime+stime from /proc/<pid>/stat (10 ms ticks).",
        "Connections are counted per measured round: with pooling, the connection the warm-up opened carries them all.",
        ...(ctx.options.quick
          ? [
              `--quick: each run stops at ${calls} calls or ${QUICK_CAP_MS / 1000} s; calls made per run: ` +
                `pooled ${spread(m("pooled.calls"))}, unpooled ${spread(m("unpooled.calls"))}.`,
            ]
          : []),
        "Gain is pooled ÷ unpooled for requests per second, unpooled ÷ pooled for latency, connections and CPU.",
      ],
      data: { ...data, ratios },
      chart: [
        {
          title: "seed: requests per second (higher is better)",
          unit: "req/s",
          bars: SIDES.map((s) => bar(s, "rps")),
        },
        { title: "seed: p99 latency (lower is better)", unit: "ms", bars: SIDES.map((s) => bar(s, "p99")) },
        {
          title: "seed: gateway CPU per 1000 requests (lower is better)",
          unit: "s",
          bars: SIDES.map((s) => bar(s, "cpuPer1k")),
        },
      ],
    };
  },
};
