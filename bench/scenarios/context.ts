import type { ChartPanel } from "../chart.js";
import type { LoadJob, LoadResult } from "../job.js";
import {
  type GatewayProcess,
  type LoadGenerator,
  type Pinning,
  startGatewayProcess,
  startUpstream,
  type Upstream,
} from "../processes.js";

export interface BenchOptions {
  quick: boolean;
  /** Measured rounds per scenario (a warm-up round comes first and is discarded). */
  rounds: number;
  /** Round-trip time the latency proxy simulates, in ms. */
  rttMs: number;
  /** Open-loop rate of the overhead scenario, calls per second. */
  rate: number;
  /** LOG_LEVEL of the gateways: info logs one line per RPC, as deployed. */
  logLevel: string;
}

/** A table of the Markdown report: the first row is the header. */
export type Table = string[][];

export interface ScenarioResult {
  /** What was run, for the JSON (concurrency, counts, configs). */
  params: Record<string, unknown>;
  tables: Table[];
  /** Sentences under the tables: ratios and how to read them. */
  notes: string[];
  /** Every figure, per round, for the JSON. */
  data: Record<string, unknown>;
  chart: ChartPanel[];
}

export interface Scenario {
  name: string;
  title: string;
  /** Left out of `--quick` (still run by `--scenario NAME --quick`): it would push the quick run past 2 minutes. */
  fullRunOnly?: boolean;
  run(ctx: BenchContext): Promise<ScenarioResult>;
}

export type PoolOptions = Record<string, unknown>;

/** What a scenario is given: options, the load generator, and starters whose processes are stopped for it. */
export class BenchContext {
  private readonly stops: (() => Promise<void>)[] = [];
  private cleaning: Promise<void> | undefined;

  constructor(
    readonly options: BenchOptions,
    readonly pin: Pinning,
    readonly tmpDir: string,
    readonly load: LoadGenerator,
    readonly progress: (message: string) => void,
    /** The zero-delay upstream, started once and shared by the scenarios that need no delays. */
    private readonly sharedUpstream: () => Promise<Upstream>,
  ) {}

  /** The shared zero-delay upstream, or a new one (stopped after the scenario) with token delays. */
  async upstream(delays?: { ttftMs: number; interTokenMs: number }): Promise<Upstream> {
    if (delays === undefined) return this.sharedUpstream();
    const upstream = await startUpstream(this.tmpDir, this.pin, delays);
    this.stops.push(upstream.stop);
    return upstream;
  }

  /**
   * A gateway serving model "demo" from an OpenAI-type provider at `origin` (the upstream or a
   * proxy); `server` adds to its server section, `pinned: false` runs it on every core.
   */
  async gateway(
    name: string,
    origin: string,
    caFile: string,
    pool: PoolOptions = {},
    nodeFlags: string[] = [],
    { server = {}, pinned = true }: { server?: Record<string, unknown>; pinned?: boolean } = {},
  ): Promise<GatewayProcess> {
    const config = {
      server: { host: "127.0.0.1", port: 0, ...server },
      pool,
      providers: { upstream: { type: "openai", base_url: `${origin}/v1` } },
      models: { demo: { deployments: [{ provider: "upstream", model: "demo" }] } },
    };
    const gateway = await startGatewayProcess(this.tmpDir, this.pin, name, config, {
      caFile,
      logLevel: this.options.logLevel,
      nodeFlags,
      pinned,
    });
    this.stops.push(gateway.stop);
    return gateway;
  }

  /**
   * With --quick, a closed-loop run also stops after `ms`, so a busy machine cannot stretch it
   * far; a full run makes every call it was asked for.
   */
  quickCap(ms: number): { durationMs?: number } {
    return this.options.quick ? { durationMs: ms } : {};
  }

  /** Registers something else to stop after the scenario, such as a proxy. */
  defer(stop: () => Promise<void>): void {
    this.stops.push(stop);
  }

  /** Runs a job and fails loudly if more than `tolerated` calls failed. */
  async run(job: LoadJob, tolerated = 0): Promise<LoadResult> {
    const result = await this.load.run(job);
    if (result.errors > tolerated) {
      throw new Error(
        `${result.errors}/${result.calls} calls failed (${job.protocol}): ${result.firstError}`,
      );
    }
    return result;
  }

  /** Stops every process started for the scenario; a second caller (an interrupt) waits for the same. */
  cleanup(): Promise<void> {
    this.cleaning ??= Promise.all(this.stops.map((stop) => stop().catch(() => {}))).then(() => {});
    return this.cleaning;
  }
}

/**
 * Runs `body` once per round after a warm-up (round 0, which scenarios size and discard);
 * alternates the order of `sides` each round. `rounds` defaults to the --rounds option.
 */
export async function inRounds<T>(
  ctx: BenchContext,
  sides: readonly T[],
  body: (side: T, round: number) => Promise<void>,
  rounds = ctx.options.rounds,
): Promise<void> {
  for (let round = 0; round <= rounds; round++) {
    // Alternating ABAB / BABA cancels drift that would otherwise favour whichever side goes first.
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) await body(side, round);
  }
}

export interface PoolTotals {
  requests: number;
  connectionsCreated: number;
  reusedRequests: number;
  connectTimeSumMs: number;
  connectTimeCount: number;
  protocol: string;
}

/** The gateway's PoolStats, over Connect JSON. */
export async function poolTotals(url: string): Promise<PoolTotals> {
  const response = await fetch(`${url}/weaver.gateway.v1.GatewayService/PoolStats`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  if (!response.ok) throw new Error(`PoolStats: HTTP ${response.status}`);
  const json = (await response.json()) as {
    totals?: Record<string, string | number | undefined>;
    origins?: { protocol?: string }[];
  };
  const t = json.totals ?? {};
  return {
    requests: Number(t.requestsTotal ?? 0),
    connectionsCreated: Number(t.connectionsCreatedTotal ?? 0),
    reusedRequests: Number(t.requestsOnReusedConnections ?? 0),
    connectTimeSumMs: Number(t.connectTimeSumMs ?? 0),
    connectTimeCount: Number(t.connectTimeCount ?? 0),
    protocol: json.origins?.[0]?.protocol ?? "",
  };
}

/** Counters accumulated between two PoolStats snapshots. */
export function poolDelta(before: PoolTotals, after: PoolTotals): PoolTotals {
  return {
    requests: after.requests - before.requests,
    connectionsCreated: after.connectionsCreated - before.connectionsCreated,
    reusedRequests: after.reusedRequests - before.reusedRequests,
    connectTimeSumMs: after.connectTimeSumMs - before.connectTimeSumMs,
    connectTimeCount: after.connectTimeCount - before.connectTimeCount,
    protocol: after.protocol,
  };
}
