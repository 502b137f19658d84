import { num, ratio, spread } from "../format.js";
import { cpuSeconds } from "../proc.js";
import { Rounds, ratioMeasure } from "../stats.js";
import { type BenchContext, inRounds, type Scenario } from "./context.js";

const CONCURRENCIES = [1, 16, 64, 256] as const;
const PROTOCOLS = ["grpc", "connect"] as const;
const NAMES = { grpc: "gRPC (h2c)", connect: "Connect JSON (HTTP/1.1)" } as const;

/** Closed-loop load at rising concurrency over both client protocols, against the zero-delay upstream. */
export const throughput: Scenario = {
  name: "throughput",
  title: "requests per second and p99 by concurrency, gRPC vs Connect JSON (zero-delay upstream)",
  async run(ctx: BenchContext) {
    const durationMs = ctx.options.quick ? 400 : 2000;
    const upstream = await ctx.upstream();
    const gw = await ctx.gateway("throughput", upstream.origin, upstream.caFile);
    const sides = PROTOCOLS.flatMap((protocol) =>
      CONCURRENCIES.map((concurrency) => ({ protocol, concurrency })),
    );
    const r = new Rounds();
    await inRounds(ctx, sides, async ({ protocol, concurrency }, round) => {
      const [gwCpu, loadCpu] = [cpuSeconds(gw.pid), cpuSeconds(ctx.load.pid)];
      const job = { target: gw.url, protocol, rpc: "generate", concurrency, maxTokens: 16 } as const;
      const result = await ctx.run({ ...job, durationMs: round === 0 ? durationMs / 3 : durationMs });
      const gwSeconds = cpuSeconds(gw.pid) - gwCpu;
      const gwShare = gwSeconds / (result.elapsedMs / 1000);
      const loadShare = (cpuSeconds(ctx.load.pid) - loadCpu) / (result.elapsedMs / 1000);
      ctx.progress(
        `${round === 0 ? "warm-up" : `round ${round}`} ${protocol} c=${concurrency}: ${result.rps.toFixed(0)} req/s, ` +
          `p99 ${result.latency.p99.toFixed(2)} ms, gateway CPU ${(gwShare * 100).toFixed(0)}%, load generator ${(loadShare * 100).toFixed(0)}%`,
      );
      if (round === 0) return;
      const key = `${protocol}.c${concurrency}`;
      r.add(`${key}.rps`, result.rps);
      r.add(`${key}.p50`, result.latency.p50);
      r.add(`${key}.p99`, result.latency.p99);
      r.add(`${key}.gatewayCpu`, gwShare);
      r.add(`${key}.cpuPerCall`, (gwSeconds * 1000) / Math.max(1, result.calls - result.errors));
      r.add(`${key}.loadCpu`, loadShare);
    });

    const m = (name: string) => r.measure(name);
    const data: Record<string, unknown> = {};
    for (const { protocol, concurrency } of sides) {
      for (const k of ["rps", "p50", "p99", "gatewayCpu", "cpuPerCall", "loadCpu"]) {
        data[`${protocol}.c${concurrency}.${k}`] = m(`${protocol}.c${concurrency}.${k}`);
      }
    }
    const grpcOverConnect = CONCURRENCIES.map((c) => ({
      c,
      ratio: ratioMeasure(r.get(`grpc.c${c}.rps`), r.get(`connect.c${c}.rps`)),
    }));
    for (const { c, ratio } of grpcOverConnect) data[`grpcOverConnect.c${c}`] = ratio;
    const peak = Math.max(
      ...sides.map(({ protocol, concurrency }) => m(`${protocol}.c${concurrency}.rps`).median),
    );
    return {
      params: { concurrencies: CONCURRENCIES, durationMs, maxTokens: 16 },
      tables: [
        [
          [
            "protocol",
            "concurrency",
            "req/s",
            "p50 (ms)",
            "p99 (ms)",
            "gateway CPU (%)",
            "gateway CPU ms/call",
            "load gen CPU (%)",
          ],
          ...sides.map(({ protocol, concurrency }) => {
            const key = `${protocol}.c${concurrency}`;
            return [
              NAMES[protocol],
              String(concurrency),
              spread(m(`${key}.rps`)),
              spread(m(`${key}.p50`), 2),
              spread(m(`${key}.p99`), 2),
              spread(m(`${key}.gatewayCpu`), 0, 100),
              spread(m(`${key}.cpuPerCall`), 2),
              spread(m(`${key}.loadCpu`), 0, 100),
            ];
          }),
        ],
      ],
      notes: [
        `gRPC ÷ Connect JSON requests per second: ${grpcOverConnect.map((x) => `c=${x.c} ${ratio(x.ratio)}`).join(", ")}.`,
        `Peak ${num(peak)} req/s. CPU % is of one core (the gateway is single-threaded JavaScript; 100% means saturated).`,
        `Each run lasts ${durationMs} ms, closed loop (every worker sends its next call when the last one returns).`,
      ],
      data,
      chart: [
        {
          title: "throughput: requests per second by concurrency",
          unit: "req/s",
          bars: sides.map(({ protocol, concurrency }) => {
            const x = m(`${protocol}.c${concurrency}.rps`);
            const tone = protocol === "grpc" ? ("a" as const) : ("d" as const);
            return {
              label: `${NAMES[protocol]} c=${concurrency}`,
              value: x.median,
              min: x.min,
              max: x.max,
              tone,
            };
          }),
        },
      ],
    };
  },
};
