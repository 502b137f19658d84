import { readFileSync } from "node:fs";
import { MiB, num, spread } from "../format.js";
import { RssSampler, rssBytes } from "../proc.js";
import { measure } from "../stats.js";
import type { BenchContext, Scenario } from "./context.js";

const CONCURRENCY = 64;

/**
 * Gateway RSS idle, under the throughput load and after each round of it. RSS stays high once V8
 * has sized its heap, so the live heap after each full GC (from --trace-gc) tells growth from a leak.
 */
export const memory: Scenario = {
  name: "memory",
  title: `gateway RSS idle, under load (gRPC, c=${CONCURRENCY}) and after`,
  async run(ctx: BenchContext) {
    const { quick } = ctx.options;
    const loadMs = quick ? 1000 : 5000;
    const settleMs = quick ? 300 : 2000;
    const rounds = ctx.options.rounds + 1;
    const upstream = await ctx.upstream();
    const gw = await ctx.gateway("memory", upstream.origin, upstream.caFile, {}, ["--trace-gc"]);
    await sleep(settleMs);
    const idle = rssBytes(gw.pid) / MiB;
    ctx.progress(`idle: ${idle.toFixed(1)} MiB`);
    const peaks: number[] = [];
    const after: number[] = [];
    let calls = 0;
    for (let round = 1; round <= rounds; round++) {
      const sampler = new RssSampler(gw.pid, 50);
      const job = { target: gw.url, protocol: "grpc", rpc: "generate", concurrency: CONCURRENCY } as const;
      const result = await ctx.run({ ...job, durationMs: loadMs, maxTokens: 16 });
      peaks.push(sampler.stop() / MiB);
      calls += result.calls;
      await sleep(settleMs);
      after.push(rssBytes(gw.pid) / MiB);
      const liveSoFar = liveHeapAfterFullGcs(readFileSync(gw.logFile, "utf8")).at(-1);
      ctx.progress(
        `round ${round}/${rounds}: ${result.calls} calls, RSS peak ${num(peaks.at(-1) ?? 0, 1)} MiB, ` +
          `after ${num(after.at(-1) ?? 0, 1)} MiB, live heap at the last full GC ${num(liveSoFar ?? Number.NaN, 1)} MB`,
      );
    }
    // The first round grows the heap to its working size; growth after that would be a leak.
    const first = after[0] ?? Number.NaN;
    const second = after[1] ?? first;
    const last = after.at(-1) ?? Number.NaN;
    const peak = measure(peaks);
    const settled = measure(after);
    const live = liveHeapAfterFullGcs(readFileSync(gw.logFile, "utf8"));
    const liveCell =
      live.length === 0
        ? "no full GC during the run"
        : `${num(live[0] ?? Number.NaN, 1)} → ${num(live.at(-1) ?? Number.NaN, 1)} (${live.length} full GCs)`;
    return {
      params: { concurrency: CONCURRENCY, loadMs, settleMs, rounds, calls },
      tables: [
        [
          ["gateway memory (MiB)", "value"],
          ["RSS idle, before any request", num(idle, 1)],
          ["RSS peak under load, per round", spread(peak, 1)],
          [`RSS after each round (${settleMs} ms later)`, spread(settled, 1)],
          ["RSS after round 1 → after the last round", `${num(first, 1)} → ${num(last, 1)}`],
          ["RSS growth from round 2 to the last round", `${num(last - second, 1)} over ${rounds - 2} rounds`],
          ["live JS heap after a full GC, first → last", liveCell],
        ],
      ],
      notes: [
        `${rounds} rounds of ${loadMs} ms closed-loop load, ${calls.toLocaleString("en-US")} calls in all; ` +
          "RSS from /proc/<pid>/status, live heap from the gateway's --trace-gc Mark-Compact lines.",
        "RSS stays up after load: V8 keeps the heap it has grown. A leak shows as a rising live heap.",
      ],
      data: {
        idleMiB: idle,
        peakMiB: peak,
        afterMiB: settled,
        afterEachRoundMiB: after,
        peaksMiB: peaks,
        liveHeapMiB: live,
        calls,
      },
      chart: [
        {
          title: "memory: gateway RSS and live heap (MiB)",
          unit: "MiB",
          bars: [
            { label: "RSS idle", value: idle, tone: "c" },
            { label: "RSS peak under load", value: peak.median, min: peak.min, max: peak.max, tone: "b" },
            { label: "RSS after round 1", value: first, tone: "a" },
            { label: `RSS after round ${rounds}`, value: last, tone: "a" },
            ...(live.length === 0
              ? []
              : [{ label: "live heap, last full GC", value: live.at(-1) ?? 0, tone: "d" as const }]),
          ],
        },
      ],
    };
  },
};

/** "Mark-Compact 131.4 (249.2) -> 29.8 (190.2) MB": the heap in use after each full collection, in MB. */
function liveHeapAfterFullGcs(log: string): number[] {
  return [...log.matchAll(/Mark-Compact[^\n]*?[\d.]+ \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB/g)].map((m) =>
    Number(m[1]),
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
