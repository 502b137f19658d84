import { num, ratio, spread } from "../format.js";
import { startLatencyProxy } from "../latency-proxy.js";
import { diffMeasure, measure, Rounds, ratioMeasure } from "../stats.js";
import { type BenchContext, inRounds, poolDelta, poolTotals, type Scenario } from "./context.js";

const SIDES = ["pooled", "unpooled"] as const;

/** Pooled vs unpooled behind a proxy that adds a network's round-trip time, so handshakes cost what they cost. */
export const rtt: Scenario = {
  name: "rtt",
  title: "pooling vs `pooling: false` behind a latency-injecting proxy",
  async run(ctx: BenchContext) {
    const rttMs = ctx.options.rttMs;
    const serialCalls = ctx.options.quick ? 10 : 40;
    const loadCalls = ctx.options.quick ? 100 : 500;
    const upstream = await ctx.upstream();
    const origin = new URL(upstream.origin);
    const proxy = await startLatencyProxy({ host: origin.hostname, port: Number(origin.port) }, rttMs);
    ctx.defer(() => proxy.close());
    const viaProxy = `https://127.0.0.1:${proxy.port}`;
    const [pooled, unpooled] = await Promise.all([
      ctx.gateway("rtt-pooled", viaProxy, upstream.caFile),
      ctx.gateway("rtt-unpooled", viaProxy, upstream.caFile, { pooling: false }),
    ]);
    const gateways = { pooled, unpooled };
    const r = new Rounds();
    await inRounds(ctx, SIDES, async (side, round) => {
      const gw = gateways[side];
      const base = { target: gw.url, protocol: "grpc", rpc: "generate", maxTokens: 16 } as const;
      const before = await poolTotals(gw.url);
      const warm = round === 0 ? 0.5 : 1;
      const serial = await ctx.run({
        ...base,
        concurrency: 1,
        count: Math.ceil(serialCalls * warm),
        ...ctx.quickCap(1500),
      });
      const between = await poolTotals(gw.url);
      const loaded = await ctx.run({
        ...base,
        concurrency: 50,
        count: Math.ceil(loadCalls * warm),
        ...ctx.quickCap(2000),
      });
      const pool = poolDelta(before, await poolTotals(gw.url));
      // Connect time from the c=1 calls only: at c=50 the handshakes also queue for CPU.
      const serialPool = poolDelta(before, between);
      const handshakeMs =
        serialPool.connectTimeCount === 0
          ? Number.NaN
          : serialPool.connectTimeSumMs / serialPool.connectTimeCount;
      ctx.progress(
        `${round === 0 ? "warm-up" : `round ${round}`} ${side}: c=1 p50 ${serial.latency.p50.toFixed(1)} ms; ` +
          `c=50 ${loaded.rps.toFixed(0)} req/s p99 ${loaded.latency.p99.toFixed(1)} ms; ` +
          `${pool.connectionsCreated} connections, handshake ${num(handshakeMs, 1)} ms`,
      );
      if (round === 0) return;
      r.add(`${side}.serialP50`, serial.latency.p50);
      r.add(`${side}.serialP99`, serial.latency.p99);
      r.add(`${side}.rps`, loaded.rps);
      r.add(`${side}.loadP50`, loaded.latency.p50);
      r.add(`${side}.loadP99`, loaded.latency.p99);
      r.add(`${side}.connections`, pool.connectionsCreated);
      if (serialPool.connectTimeCount > 0) r.add(`${side}.handshakeMs`, handshakeMs);
    });

    const m = (name: string) => r.measure(name);
    const saved = measure(
      diffMeasure(r.get("unpooled.serialP50"), r.get("pooled.serialP50")).rounds.map((d) => d / rttMs),
    );
    const pooledTrips = measure(r.get("pooled.serialP50").map((v) => v / rttMs));
    const handshakeTrips = measure(r.get("unpooled.handshakeMs").map((v) => v / rttMs));
    const row = (label: string, metric: string, digits: number, higherIsBetter: boolean) => [
      label,
      spread(m(`pooled.${metric}`), digits),
      spread(m(`unpooled.${metric}`), digits),
      ratio(
        higherIsBetter
          ? ratioMeasure(r.get(`pooled.${metric}`), r.get(`unpooled.${metric}`))
          : ratioMeasure(r.get(`unpooled.${metric}`), r.get(`pooled.${metric}`)),
      ),
    ];
    const bar = (side: (typeof SIDES)[number], metric: string, label: string) => {
      const x = m(`${side}.${metric}`);
      return {
        label,
        value: x.median,
        min: x.min,
        max: x.max,
        tone: side === "pooled" ? ("a" as const) : ("b" as const),
      };
    };
    return {
      params: { rttMs, serialCalls, loadCalls, loadConcurrency: 50, client: "gRPC over h2c" },
      tables: [
        [
          [`RTT ${rttMs} ms`, "pooling", "pooling: false", "pooling's gain"],
          row("c=1 p50 latency (ms)", "serialP50", 1, false),
          row("c=1 p99 latency (ms)", "serialP99", 1, false),
          row(`c=50 requests per second (${loadCalls} calls)`, "rps", 0, true),
          row("c=50 p50 latency (ms)", "loadP50", 1, false),
          row("c=50 p99 latency (ms)", "loadP99", 1, false),
          [
            "upstream connections created",
            spread(m("pooled.connections")),
            spread(m("unpooled.connections")),
            "",
          ],
          [
            "mean connect time at c=1, TCP + TLS (ms)",
            spread(m("pooled.handshakeMs"), 1),
            spread(m("unpooled.handshakeMs"), 1),
            "",
          ],
        ],
      ],
      notes: [
        `Round trips saved per request by pooling (c=1 p50 difference ÷ RTT): ${spread(saved, 2)}; ` +
          "expected 2 (TCP handshake + TLS 1.3 handshake).",
        `A pooled request costs ${spread(pooledTrips, 2)} round trips; an unpooled connect at c=1 takes ${spread(handshakeTrips, 2)} (TCP + TLS, expected 2).`,
        "Connections are counted per measured round: with pooling, the connection the warm-up opened carries them all.",
        `The proxy delays each direction by ${rttMs / 2} ms and holds a new connection's first bytes one RTT (the TCP handshake).`,
      ],
      data: {
        ...Object.fromEntries(
          SIDES.flatMap((s) =>
            ["serialP50", "serialP99", "rps", "loadP50", "loadP99", "connections", "handshakeMs"].map((k) => [
              `${s}.${k}`,
              m(`${s}.${k}`),
            ]),
          ),
        ),
        roundTripsSaved: saved,
        pooledRoundTrips: pooledTrips,
        handshakeRoundTrips: handshakeTrips,
      },
      chart: [
        {
          title: `rtt ${rttMs} ms: latency per request at c=1 (lower is better)`,
          unit: "ms",
          bars: [
            bar("pooled", "serialP50", "pooling p50"),
            bar("unpooled", "serialP50", "pooling: false p50"),
          ],
        },
      ],
    };
  },
};
