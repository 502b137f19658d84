import { spread } from "../format.js";
import { startGatewayProcess } from "../processes.js";
import { startRedisServer } from "../redis-server.js";
import { diffMeasure, Rounds } from "../stats.js";
import { type BenchContext, inRounds, poolTotals, type Scenario } from "./context.js";

const PATHS = ["upstream", "memory", "redis"] as const;
type Path = (typeof PATHS)[number];
const LABELS: Record<Path, string> = {
  upstream: "an upstream call (the model without cache)",
  memory: "a hit, in-process cache",
  redis: "a hit, Redis cache",
};
/** Identical calls started at once against an upstream that answers after 200 ms. */
const BURST = 50;
const SLOW_MS = 200;

/**
 * What a cache hit costs against an upstream call, from the in-process cache and from Redis; and
 * what coalescing saves: a burst of identical calls against a slow upstream, with and without cache.
 */
export const cache: Scenario = {
  name: "cache",
  title: "response cache: hit latency (in process, Redis) against an upstream call; coalescing",
  fullRunOnly: true,
  async run(ctx: BenchContext) {
    const calls = ctx.options.quick ? 100 : 1000;
    const [fast, slow] = await Promise.all([
      ctx.upstream(),
      ctx.upstream({ ttftMs: SLOW_MS, interTokenMs: 0 }),
    ]);
    const redis = await startRedisServer({
      cpus: ctx.pin.enabled ? ctx.pin.load : undefined,
      progress: (m) => ctx.progress(m),
    });
    ctx.defer(redis.stop);
    const caFile = fast.caFile;
    const model = (provider: string, cached: boolean) => ({
      ...(cached ? { cache: { ttl: "10m" } } : {}),
      deployments: [{ provider, model: "gpt-4o-mini" }],
    });
    const config = (cacheStore: "memory" | "redis") => ({
      server: { host: "127.0.0.1", port: 0 },
      providers: {
        fast: { type: "openai", base_url: `${fast.origin}/v1` },
        slow: { type: "openai", base_url: `${slow.origin}/v1`, ca_file: slow.caFile },
      },
      models: {
        demo: model("fast", true),
        "demo-uncached": model("fast", false),
        slow: model("slow", true),
        "slow-uncached": model("slow", false),
      },
      store: { redis: { url: redis.url } },
      cache: { store: cacheStore },
    });
    const [memoryGw, redisGw] = (await Promise.all(
      (["memory", "redis"] as const).map(async (store) => {
        const gw = await startGatewayProcess(ctx.tmpDir, ctx.pin, `cache-${store}`, config(store), {
          caFile,
          logLevel: ctx.options.logLevel,
        });
        ctx.defer(gw.stop);
        return gw.url;
      }),
    )) as [string, string];
    const targets: Record<Path, { url: string; model: string }> = {
      upstream: { url: memoryGw, model: "demo-uncached" },
      memory: { url: memoryGw, model: "demo" },
      redis: { url: redisGw, model: "demo" },
    };
    const r = new Rounds();
    await inRounds(ctx, PATHS, async (path, round) => {
      const { url, model: name } = targets[path];
      const job = {
        target: url,
        protocol: "grpc" as const,
        rpc: "generate" as const,
        maxTokens: 16,
        model: name,
        samePrompt: true,
      };
      const result = await ctx.run({
        ...job,
        concurrency: 1,
        count: round === 0 ? Math.ceil(calls / 4) : calls,
        ...ctx.quickCap(2000),
      });
      ctx.progress(
        `${round === 0 ? "warm-up" : `round ${round}`} ${path}: p50 ${(result.latency.p50 * 1000).toFixed(0)} µs, p99 ${(result.latency.p99 * 1000).toFixed(0)} µs`,
      );
      if (round === 0) return;
      r.add(`${path}.p50`, result.latency.p50 * 1000);
      r.add(`${path}.p99`, result.latency.p99 * 1000);
    });
    // Coalescing: each round a burst of identical calls the cache has not seen (max_tokens differs).
    await inRounds(ctx, ["slow", "slow-uncached"], async (name, round) => {
      const before = await poolTotals(memoryGw);
      const result = await ctx.run({
        target: memoryGw,
        protocol: "grpc",
        rpc: "generate",
        model: name,
        samePrompt: true,
        maxTokens: 100 + round,
        concurrency: BURST,
        count: BURST,
      });
      const upstream = (await poolTotals(memoryGw)).requests - before.requests;
      ctx.progress(
        `burst ${round} ${name}: ${upstream} upstream requests, p50 ${result.latency.p50.toFixed(0)} ms`,
      );
      if (round === 0) return;
      r.add(`${name}.upstream`, upstream);
      r.add(`${name}.burst.p50`, result.latency.p50);
      r.add(`${name}.burst.p99`, result.latency.p99);
    });
    const saved = (path: Path, p: "p50" | "p99") =>
      diffMeasure(r.get(`upstream.${p}`), r.get(`${path}.${p}`));
    const data: Record<string, unknown> = {};
    for (const name of r.names()) data[name] = r.measure(name);
    return {
      params: { calls, burst: BURST, slowUpstreamMs: SLOW_MS },
      tables: [
        [
          [
            "Generate over gRPC at c=1, zero-delay upstream",
            "p50 (µs)",
            "p99 (µs)",
            "saved against the upstream call, p50 (µs)",
          ],
          ...PATHS.map((path) => [
            LABELS[path],
            spread(r.measure(`${path}.p50`)),
            spread(r.measure(`${path}.p99`)),
            path === "upstream" ? "" : spread(saved(path, "p50")),
          ]),
        ],
        [
          [
            `${BURST} identical calls at once, upstream answering after ${SLOW_MS} ms`,
            "upstream requests",
            "p50 (ms)",
            "p99 (ms)",
          ],
          ...(["slow", "slow-uncached"] as const).map((name) => [
            name === "slow" ? "cached model: coalesced" : "model without cache",
            spread(r.measure(`${name}.upstream`)),
            spread(r.measure(`${name}.burst.p50`)),
            spread(r.measure(`${name}.burst.p99`)),
          ]),
        ],
      ],
      notes: [
        "One gateway per cache store on the pinned core, both with quotas' store in the same redis-server (on the load core); every call of a path sends the same request, so after the warm-up each is a hit.",
        "The burst's calls start together with a request the cache has not seen: the first starts the upstream call, the others join it.",
      ],
      data,
      chart: [
        {
          title: "cache: p50 at c=1 (lower is better)",
          unit: "µs",
          bars: PATHS.map((path) => {
            const x = r.measure(`${path}.p50`);
            return {
              label: LABELS[path],
              value: x.median,
              min: x.min,
              max: x.max,
              tone: path === "upstream" ? ("d" as const) : ("a" as const),
            };
          }),
        },
      ],
    };
  },
};
