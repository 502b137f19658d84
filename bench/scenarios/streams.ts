import { MiB, spread } from "../format.js";
import type { LoadJob } from "../job.js";
import { cpuSeconds, RssSampler } from "../proc.js";
import { diffMeasure, Rounds } from "../stats.js";
import { type BenchContext, inRounds, type Scenario } from "./context.js";

const GAP_MS = 20;
/** Upstream HTTP/2 streams per connection: with the default 4 connections, room for 1000+ streams. */
const STREAMS_PER_CONNECTION = 256;
const SIDES = ["gateway", "direct"] as const;

/** Many long GenerateStream calls at once, compared with the same streams read straight from the upstream. */
export const streams: Scenario = {
  name: "streams",
  title: `concurrent GenerateStream calls, deltas ${GAP_MS} ms apart`,
  async run(ctx: BenchContext) {
    const count = ctx.options.quick ? 200 : 1000;
    const deltas = ctx.options.quick ? 32 : 64;
    const upstream = await ctx.upstream({ ttftMs: 0, interTokenMs: GAP_MS });
    const gw = await ctx.gateway("streams", upstream.origin, upstream.caFile, {
      max_concurrent_streams: STREAMS_PER_CONNECTION,
    });
    const r = new Rounds();
    await inRounds(ctx, SIDES, async (side, round) => {
      const job: LoadJob = {
        target: side === "gateway" ? gw.url : upstream.origin,
        protocol: side === "gateway" ? "grpc" : "direct",
        rpc: "stream",
        concurrency: round === 0 ? count / 5 : count,
        count: round === 0 ? count / 5 : count,
        maxTokens: deltas,
        caFile: upstream.caFile,
        streamsPerConnection: STREAMS_PER_CONNECTION,
      };
      const rss = side === "gateway" ? new RssSampler(gw.pid) : undefined;
      const [cpuBefore, loadBefore] = [cpuSeconds(gw.pid), cpuSeconds(ctx.load.pid)];
      const result = await ctx.load.run(job);
      const peakRss = rss?.stop();
      const cpu = cpuSeconds(gw.pid) - cpuBefore;
      const loadShare = ((cpuSeconds(ctx.load.pid) - loadBefore) * 1000) / result.elapsedMs;
      const deltasPerSecond = ((result.deltas ?? 0) * 1000) / result.elapsedMs;
      const complete = result.calls - result.errors;
      const fullDeltas = (result.deltas ?? 0) === complete * deltas;
      ctx.progress(
        `${round === 0 ? "warm-up" : `round ${round}`} ${side}: ${complete}/${result.calls} streams ok` +
          `${fullDeltas ? "" : ` (${result.deltas} deltas)`}, first delta p50 ${result.firstDelta?.p50.toFixed(1)} ms ` +
          `p99 ${result.firstDelta?.p99.toFixed(1)} ms, duration p99 ${result.latency.p99.toFixed(0)} ms` +
          `, ${deltasPerSecond.toFixed(0)} deltas/s, load generator CPU ${(100 * loadShare).toFixed(0)}%` +
          (peakRss === undefined
            ? ""
            : `, gateway RSS peak ${(peakRss / MiB).toFixed(0)} MiB, CPU ${((100 * cpu * 1000) / result.elapsedMs).toFixed(0)}%`) +
          (result.errors > 0 ? `; first error: ${result.firstError}` : ""),
      );
      if (round === 0) return;
      r.add(`${side}.ok`, complete);
      r.add(`${side}.errors`, result.errors);
      r.add(`${side}.deltasPerStream`, complete === 0 ? 0 : (result.deltas ?? 0) / complete);
      r.add(`${side}.ttfdP50`, result.firstDelta?.p50 ?? Number.NaN);
      r.add(`${side}.ttfdP99`, result.firstDelta?.p99 ?? Number.NaN);
      r.add(`${side}.durationP99`, result.latency.p99);
      r.add(`${side}.deltasPerSecond`, deltasPerSecond);
      r.add(`${side}.loadShare`, loadShare);
      if (peakRss !== undefined) {
        r.add("gateway.rssPeak", peakRss / MiB);
        r.add("gateway.cpuShare", (cpu * 1000) / result.elapsedMs);
        r.add("gateway.cpuPer1kDeltas", (cpu * 1000) / Math.max(1, result.deltas ?? 0));
      }
    });

    const m = (name: string) => r.measure(name);
    const added = {
      p50: diffMeasure(r.get("gateway.ttfdP50"), r.get("direct.ttfdP50")),
      p99: diffMeasure(r.get("gateway.ttfdP99"), r.get("direct.ttfdP99")),
    };
    const row = (label: string, metric: string, digits: number) => [
      label,
      spread(m(`gateway.${metric}`), digits),
      spread(m(`direct.${metric}`), digits),
    ];
    const data: Record<string, unknown> = { addedFirstDeltaP50: added.p50, addedFirstDeltaP99: added.p99 };
    for (const side of SIDES) {
      for (const k of [
        "ok",
        "errors",
        "deltasPerStream",
        "ttfdP50",
        "ttfdP99",
        "durationP99",
        "deltasPerSecond",
        "loadShare",
      ])
        data[`${side}.${k}`] = m(`${side}.${k}`);
    }
    data["gateway.rssPeakMiB"] = m("gateway.rssPeak");
    data["gateway.cpuShare"] = m("gateway.cpuShare");
    data["gateway.cpuPer1kDeltas"] = m("gateway.cpuPer1kDeltas");
    return {
      params: {
        streams: count,
        deltas,
        gapMs: GAP_MS,
        client: "gRPC over h2c",
        streamsPerConnection: STREAMS_PER_CONNECTION,
      },
      tables: [
        [
          [`${count} streams × ${deltas} deltas`, "via gateway (gRPC)", "direct to upstream"],
          row("streams completed", "ok", 0),
          row("streams failed", "errors", 0),
          row("deltas per completed stream", "deltasPerStream", 1),
          row("time to first delta p50 (ms)", "ttfdP50", 1),
          row("time to first delta p99 (ms)", "ttfdP99", 1),
          row("stream duration p99 (ms)", "durationP99", 0),
          row("deltas delivered per second", "deltasPerSecond", 0),
          ["gateway RSS peak (MiB)", spread(m("gateway.rssPeak")), ""],
          ["gateway CPU (% of one core)", spread(m("gateway.cpuShare"), 0, 100), ""],
          ["gateway CPU s per 1000 deltas", spread(m("gateway.cpuPer1kDeltas"), 3), ""],
          [
            "load generator CPU (% of one core)",
            spread(m("gateway.loadShare"), 0, 100),
            spread(m("direct.loadShare"), 0, 100),
          ],
        ],
      ],
      notes: [
        `Added time to first delta (gateway − direct, per round): p50 ${spread(added.p50, 1)} ms, p99 ${spread(added.p99, 1)} ms.`,
        `The upstream sends a role-only chunk at once and the first text ${GAP_MS} ms later, so direct is ≈ ${GAP_MS} ms at best.`,
        `Gateway pool: max_concurrent_streams ${STREAMS_PER_CONNECTION} per upstream connection, 4 connections ` +
          "(the default 100 per connection would queue streams beyond 400 in the gateway).",
        "All streams start at once, so time to first delta includes the gateway working through the burst of starts.",
      ],
      data,
      chart: [
        {
          title: `streams: time to first delta, ${count} concurrent streams (lower is better)`,
          unit: "ms",
          bars: (["ttfdP50", "ttfdP99"] as const).flatMap((metric) =>
            SIDES.map((side) => {
              const x = m(`${side}.${metric}`);
              const label = `${side === "gateway" ? "via gateway" : "direct"} ${metric === "ttfdP50" ? "p50" : "p99"}`;
              return {
                label,
                value: x.median,
                min: x.min,
                max: x.max,
                tone: side === "gateway" ? ("a" as const) : ("c" as const),
              };
            }),
          ),
        },
      ],
    };
  },
};
