import { keyHash, newCallerKey } from "../../src/access/caller-keys.js";
import { spread } from "../format.js";
import { startGatewayProcess } from "../processes.js";
import { startRedisServer } from "../redis-server.js";
import { diffMeasure, Rounds } from "../stats.js";
import { type BenchContext, inRounds, type Scenario } from "./context.js";

const SIDES = ["open", "memory", "redis"] as const;
type Side = (typeof SIDES)[number];
const LABELS: Record<Side, string> = {
  open: "no keys (an open gateway)",
  memory: "keyed, quotas in process",
  redis: "keyed, quotas in Redis",
};

/**
 * What a caller key costs a call: the same gateway without keys, with a key whose every quota is
 * checked in process, and with the same key's quotas in a redis-server on the load core, called
 * one at a time through the OpenAI API, in alternating rounds.
 */
export const keys: Scenario = {
  name: "keys",
  title: "latency a caller key adds: quotas in process and in Redis",
  // Three more gateways and a Redis to start: 9 s the quick run has no room for.
  fullRunOnly: true,
  async run(ctx: BenchContext) {
    const calls = ctx.options.quick ? 100 : 2000;
    const upstream = await ctx.upstream();
    const redis = await startRedisServer({
      cpus: ctx.pin.enabled ? ctx.pin.load : undefined,
      progress: (m) => ctx.progress(m),
    });
    ctx.defer(redis.stop);
    const key = newCallerKey();
    // Every quota on, none reached: each call takes them all and settles its tokens and spend.
    const limits = {
      requests_per_minute: 10_000_000,
      tokens_per_minute: 1_000_000_000,
      concurrent: 10_000,
      budget_usd: { amount: 1_000_000, per: "month" },
    };
    const base = {
      server: { host: "127.0.0.1", port: 0 },
      providers: { upstream: { type: "openai", base_url: `${upstream.origin}/v1` } },
      models: { demo: { deployments: [{ provider: "upstream", model: "gpt-4o-mini" }] } },
    };
    const keyed = { ...base, keys: [{ name: "bench", sha256: keyHash(key), limits }] };
    const configs: Record<Side, unknown> = {
      open: base,
      memory: keyed,
      redis: { ...keyed, store: { redis: { url: redis.url } } },
    };
    const started = await Promise.all(
      SIDES.map(async (side) => {
        const gw = await startGatewayProcess(ctx.tmpDir, ctx.pin, `keys-${side}`, configs[side], {
          caFile: upstream.caFile,
          logLevel: ctx.options.logLevel,
        });
        ctx.defer(gw.stop);
        return [side, gw.url] as const;
      }),
    );
    const gateways = Object.fromEntries(started) as Record<Side, string>;
    const r = new Rounds();
    await inRounds(ctx, SIDES, async (side, round) => {
      const result = await ctx.run({
        target: gateways[side],
        protocol: "openai",
        rpc: "generate",
        concurrency: 1,
        count: round === 0 ? Math.ceil(calls / 2) : calls,
        maxTokens: 16,
        headers: side === "open" ? {} : { authorization: `Bearer ${key}` },
        ...ctx.quickCap(2000),
      });
      ctx.progress(
        `${round === 0 ? "warm-up" : `round ${round}`} ${side}: p50 ${(result.latency.p50 * 1000).toFixed(0)} µs, ` +
          `p99 ${(result.latency.p99 * 1000).toFixed(0)} µs, ${result.rps.toFixed(0)} calls/s`,
      );
      if (round === 0) return;
      r.add(`${side}.p50`, result.latency.p50 * 1000);
      r.add(`${side}.p99`, result.latency.p99 * 1000);
      r.add(`${side}.rps`, result.rps);
    });
    const added = (side: Side, p: "p50" | "p99") => diffMeasure(r.get(`${side}.${p}`), r.get(`open.${p}`));
    const data: Record<string, unknown> = {};
    for (const side of SIDES)
      for (const p of ["p50", "p99", "rps"]) data[`${side}.${p}`] = r.measure(`${side}.${p}`);
    for (const side of ["memory", "redis"] as const)
      for (const p of ["p50", "p99"] as const) data[`${side}.added.${p}`] = added(side, p);
    return {
      params: { calls, concurrency: 1, maxTokens: 16 },
      tables: [
        [
          ["OpenAI API at c=1", "p50 (µs)", "p99 (µs)", "calls/s", "added p50 (µs)", "added p99 (µs)"],
          ...SIDES.map((side) => [
            LABELS[side],
            spread(r.measure(`${side}.p50`)),
            spread(r.measure(`${side}.p99`)),
            spread(r.measure(`${side}.rps`)),
            side === "open" ? "" : spread(added(side, "p50")),
            side === "open" ? "" : spread(added(side, "p99")),
          ]),
        ],
      ],
      notes: [
        "Added = keyed minus the open gateway, per round. A keyed call hashes its key, checks its model, takes " +
          "its requests, tokens, concurrency and budget quotas in one store operation, and at its end adds its " +
          "tokens, spend and usage row in another (in Redis: one script run each, on the load core).",
        "Three gateway processes on the same pinned core, one at a time, the same zero-delay TLS HTTP/2 upstream.",
      ],
      data,
      chart: [
        {
          title: "keys: latency a caller key adds at c=1 (lower is better)",
          unit: "µs",
          bars: (["memory", "redis"] as const).flatMap((side) =>
            (["p50", "p99"] as const).map((p) => {
              const x = added(side, p);
              return {
                label: `${side} ${p}`,
                value: x.median,
                min: x.min,
                max: x.max,
                tone: side === "redis" ? ("d" as const) : ("a" as const),
              };
            }),
          ),
        },
      ],
    };
  },
};
