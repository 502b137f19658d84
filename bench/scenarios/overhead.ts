import { spread } from "../format.js";
import type { LoadJob, Protocol } from "../job.js";
import { diffMeasure, Rounds } from "../stats.js";
import { type BenchContext, inRounds, type Scenario } from "./context.js";

const PATHS: readonly Protocol[] = ["direct", "connect", "grpc"];
const LABELS: Record<Protocol, string> = {
  direct: "direct to upstream (OpenAI JSON, TLS h2, undici)",
  connect: "via gateway, Connect JSON over HTTP/1.1",
  grpc: "via gateway, gRPC over h2c",
};
const LOADS = ["c1", "rate"] as const;

/** What the gateway adds: one client calls the upstream directly and through the gateway, in the same rounds. */
export const overhead: Scenario = {
  name: "overhead",
  title: "latency the gateway adds over calling the upstream directly",
  async run(ctx: BenchContext) {
    const { quick, rate } = ctx.options;
    const serialCalls = quick ? 100 : 1000;
    const rateMs = quick ? 600 : 3000;
    const upstream = await ctx.upstream();
    const gw = await ctx.gateway("overhead", upstream.origin, upstream.caFile);
    const r = new Rounds();
    const unsustained: string[] = [];
    await inRounds(ctx, PATHS, async (path, round) => {
      const job: LoadJob = {
        target: path === "direct" ? upstream.origin : gw.url,
        protocol: path,
        rpc: "generate",
        maxTokens: 16,
        caFile: upstream.caFile,
      };
      const warm = round === 0 ? 0.3 : 1;
      const serial = await ctx.run({
        ...job,
        concurrency: 1,
        count: Math.ceil(serialCalls * warm),
        ...ctx.quickCap(1500),
      });
      const paced = await ctx.run({ ...job, rate, durationMs: rateMs * warm });
      // An open-loop run that overran its schedule by half measured a queue, not the gateway's latency.
      const kept = paced.elapsedMs < 1.5 * rateMs * warm;
      if (!kept && round > 0) unsustained.push(`${path} (round ${round})`);
      ctx.progress(
        `${round === 0 ? "warm-up" : `round ${round}`} ${path}: c=1 p50 ${us(serial.latency.p50)} µs ` +
          `p99 ${us(serial.latency.p99)} µs; ${rate}/s p50 ${us(paced.latency.p50)} µs p99 ${us(paced.latency.p99)} µs${kept ? "" : " (rate NOT sustained)"}`,
      );
      if (round === 0) return;
      r.add(`${path}.c1.p50`, serial.latency.p50 * 1000);
      r.add(`${path}.c1.p99`, serial.latency.p99 * 1000);
      r.add(`${path}.rate.p50`, paced.latency.p50 * 1000);
      r.add(`${path}.rate.p99`, paced.latency.p99 * 1000);
      r.add(`${path}.rate.rps`, paced.rps);
    });

    const added = (path: Protocol, load: (typeof LOADS)[number], p: "p50" | "p99") =>
      diffMeasure(r.get(`${path}.${load}.${p}`), r.get(`direct.${load}.${p}`));
    const cell = (name: string) => spread(r.measure(name));
    const data: Record<string, unknown> = {};
    for (const path of PATHS) {
      for (const key of ["c1.p50", "c1.p99", "rate.p50", "rate.p99", "rate.rps"]) {
        data[`${path}.${key}`] = r.measure(`${path}.${key}`);
      }
      if (path === "direct") continue;
      for (const load of LOADS)
        for (const p of ["p50", "p99"] as const) data[`${path}.added.${load}.${p}`] = added(path, load, p);
    }
    const addedBars = PATHS.filter((p) => p !== "direct").flatMap((path) =>
      (["p50", "p99"] as const).map((p) => {
        const x = added(path, "c1", p);
        const tone = path === "grpc" ? ("a" as const) : ("d" as const);
        return {
          label: `${path === "grpc" ? "gRPC" : "Connect JSON"} c=1 ${p}`,
          value: x.median,
          min: x.min,
          max: x.max,
          tone,
        };
      }),
    );
    return {
      params: { serialCalls, rate, rateDurationMs: rateMs, maxTokens: 16 },
      tables: [
        [
          ["latency (µs)", "c=1 p50", "c=1 p99", `${rate}/s p50`, `${rate}/s p99`],
          ...PATHS.map((path) => [
            LABELS[path],
            cell(`${path}.c1.p50`),
            cell(`${path}.c1.p99`),
            cell(`${path}.rate.p50`),
            cell(`${path}.rate.p99`),
          ]),
        ],
        [
          ["added by the gateway (µs)", "c=1 p50", "c=1 p99", `${rate}/s p50`, `${rate}/s p99`],
          ...PATHS.filter((p) => p !== "direct").map((path) => [
            LABELS[path].replace("via gateway, ", ""),
            spread(added(path, "c1", "p50")),
            spread(added(path, "c1", "p99")),
            spread(added(path, "rate", "p50")),
            spread(added(path, "rate", "p99")),
          ]),
        ],
      ],
      notes: [
        "Added = through the gateway minus direct, per round. It includes the second hop, both protocols' " +
          "encoding and the gateway's per-RPC log line; the upstream answers at once.",
        `The ${rate}/s load is open loop: calls start on schedule whether or not earlier ones finished` +
          (unsustained.length === 0
            ? "; every round kept up."
            : `; NOT sustained by ${unsustained.join(", ")}, so those figures include queueing (try a lower --rate).`),
        "Peers' published figures for context (other hardware and methods): TensorZero p99 0.94 ms at 10k QPS, " +
          "Bifrost 11 µs mean, Helicone p99 0.44 ms at c=1.",
      ],
      data,
      chart: [
        {
          title: "overhead: latency added by the gateway at c=1 (lower is better)",
          unit: "µs",
          bars: addedBars,
        },
      ],
    };
  },
};

function us(ms: number): string {
  return (ms * 1000).toFixed(0);
}
