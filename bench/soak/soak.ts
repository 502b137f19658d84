import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ChaosClient } from "../../test/support/chaos/chaos-client.js";
import { MiB } from "../format.js";
import { CALL_KINDS, type CallKind, CallMix } from "./call-mix.js";
import type { GatewaySample } from "./child-protocol.js";
import { type GatewayUnderSoak, startGatewayUnderSoak } from "./gateway-under-soak.js";
import { SoakUpstreams, type UpstreamTally } from "./soak-upstreams.js";
import { FD_RULE, judgeTrend, LIVE_HEAP_RULE, type TrendVerdict } from "./trend.js";

/** One soak run: the chaos upstreams, the gateway child, a steady mixed load, and samples throughout. */

export interface SoakOptions {
  durationMs: number;
  /** Calls started per second, on schedule whatever earlier calls are doing (open loop). */
  rate: number;
  sampleEveryMs: number;
  seed: number;
  /** The kinds of call in the mix; default all. */
  kinds?: readonly CallKind[];
  /** The gateway's LOG_LEVEL; info logs a line per RPC, as deployed. */
  logLevel: string;
  /** Where the gateway's log goes. */
  logFile: string;
  progress?: (message: string) => void;
}

export interface TimedSample extends GatewaySample {
  /** Since the load started; the baseline is taken just before it. */
  atMs: number;
  phase: "before" | "load" | "after";
}

export interface SoakResult {
  startedAt: string;
  options: Omit<SoakOptions, "progress">;
  node: string;
  cores: number;
  /** 1-minute load average at the start and the end: a busy machine makes noisy samples. */
  loadAverage: [number, number];
  samples: TimedSample[];
  calls: {
    started: number;
    /** Not started: MAX_IN_FLIGHT calls were already open. */
    skipped: number;
    /** Calls by kind, then by gRPC status name. */
    outcomes: Record<CallKind, Record<string, number>>;
    /** The first status message seen per "kind status", e.g. "fault UNAVAILABLE". */
    examples: Record<string, string>;
  };
  upstream: UpstreamTally & { openAfter: ReturnType<SoakUpstreams["open"]> };
  /**
   * Set when the gateway died or stopped answering samples: what happened, the end of its stderr,
   * and the calls open at that moment (their faults are where to look first).
   */
  gatewayFailure?: { reason: string; stderr: string; openCalls: OpenCall[] };
  trends: { liveHeap: TrendVerdict; fds: TrendVerdict };
}

export interface OpenCall {
  kind: CallKind;
  model: string;
  method: string;
  openForMs: number;
  fault?: unknown;
}

type OpenCallAt = Omit<OpenCall, "openForMs"> & { startedAt: number };

/** Bounds the open calls if the gateway stops answering: later calls are skipped, not queued. */
const MAX_IN_FLIGHT = 2_000;
/** Open calls listed when the gateway fails: enough to find the fault that did it. */
const MAX_REPORTED_OPEN_CALLS = 40;
/** After the load, time for pools to settle (idle sockets, finished streams) before the last sample. */
const SETTLE_MS = 2_000;

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { progress, ...settings } = options;
  const say = progress ?? (() => {});
  const startedAt = new Date().toISOString();
  const loadAtStart = loadavg()[0] ?? 0;
  const dir = mkdtempSync(join(tmpdir(), "weaver-soak-"));
  const upstreams = await SoakUpstreams.start();
  let gateway: GatewayUnderSoak | undefined;
  let client: ChaosClient | undefined;
  try {
    gateway = await startGatewayUnderSoak({
      config: {
        server: { host: "127.0.0.1", port: 0, drain_timeout: "2s" },
        // Case ids are reused, so a fault would cool down the model of the next call given its id.
        router: { allowed_failures: 1_000_000 },
        providers: upstreams.providersConfig(dir),
      },
      upstreamPorts: upstreams.ports,
      logFile: options.logFile,
      logLevel: options.logLevel,
    });
    say(`gateway pid ${gateway.pid} at ${gateway.url}; log in ${options.logFile}`);
    client = new ChaosClient(gateway.url);
    const run = await drive(gateway, client, upstreams, options, say);
    const loadSamples = run.samples.filter((s) => s.phase === "load");
    const series = (pick: (s: TimedSample) => number) =>
      loadSamples.map((s) => ({ atMs: s.atMs, value: pick(s) }));
    return {
      startedAt,
      options: settings,
      node: process.versions.node,
      cores: availableParallelism(),
      loadAverage: [loadAtStart, loadavg()[0] ?? 0],
      samples: run.samples,
      calls: run.calls,
      upstream: { ...upstreams.tally, openAfter: upstreams.open() },
      ...(run.failure === undefined
        ? {}
        : { gatewayFailure: { ...run.failure, stderr: gateway.exit() ? gateway.stderrTail() : "" } }),
      trends: {
        liveHeap: judgeTrend(
          series((s) => s.liveHeapBytes),
          LIVE_HEAP_RULE,
        ),
        fds: judgeTrend(
          series((s) => s.fds),
          FD_RULE,
        ),
      },
    };
  } finally {
    client?.close();
    await gateway?.stop();
    await upstreams.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the paced load and the sampler side by side, then lets the gateway settle and samples once more. */
async function drive(
  gateway: GatewayUnderSoak,
  client: ChaosClient,
  upstreams: SoakUpstreams,
  options: SoakOptions,
  say: (message: string) => void,
): Promise<{
  samples: TimedSample[];
  calls: SoakResult["calls"];
  failure?: { reason: string; openCalls: OpenCall[] };
}> {
  const mix = new CallMix(options.seed, options.kinds);
  const outcomes = Object.fromEntries(CALL_KINDS.map((k) => [k, {}])) as Record<
    CallKind,
    Record<string, number>
  >;
  const examples: Record<string, string> = {};
  const open = new Map<Promise<void>, OpenCallAt>();
  let [started, skipped, ended] = [0, 0, 0];
  // The calls open at the last sample the gateway answered, and those started since: whatever
  // stalls or kills the gateway is among them.
  let suspects = new Set<OpenCallAt>();
  let failure: { reason: string; openCalls: OpenCall[] } | undefined;
  const fail = (reason: string) => {
    const now = performance.now();
    const faultsFirst = [...suspects].sort(
      (a, b) => Number(b.fault !== undefined) - Number(a.fault !== undefined),
    );
    failure ??= {
      reason,
      openCalls: faultsFirst
        .slice(0, MAX_REPORTED_OPEN_CALLS)
        .map(({ startedAt, ...call }) => ({ ...call, openForMs: Math.round(now - startedAt) })),
    };
  };
  const samples: TimedSample[] = [];
  const begin = performance.now();
  const take = async (phase: TimedSample["phase"]) => {
    const sample = { ...(await gateway.sample()), atMs: performance.now() - begin, phase };
    samples.push(sample);
    suspects = new Set(open.values());
    return sample;
  };
  await take("before");

  const launch = () => {
    const planned = mix.next();
    const lease = planned.fault && upstreams.lease(planned.provider, planned.fault);
    const model = lease?.model ?? upstreams.normalModel(planned.provider);
    const call = client.call({ ...planned.call, model }).then((end) => {
      lease?.release();
      ended++;
      const byStatus = outcomes[planned.kind];
      byStatus[end.code] = (byStatus[end.code] ?? 0) + 1;
      examples[`${planned.kind} ${end.code}`] ??= end.details.slice(0, 200);
    });
    const tracked = call.finally(() => open.delete(tracked));
    const { kind, fault } = planned;
    const openCall: OpenCallAt = {
      kind,
      model,
      method: planned.call.method,
      startedAt: performance.now(),
      ...(fault ? { fault } : {}),
    };
    open.set(tracked, openCall);
    suspects.add(openCall);
  };

  const running = () =>
    failure === undefined && gateway.exit() === undefined && performance.now() - begin < options.durationMs;
  const pace = async () => {
    // Open loop: each call starts on schedule, however long earlier calls take.
    while (running()) {
      const due = Math.floor(((performance.now() - begin) * options.rate) / 1000) + 1;
      while (started + skipped < due) {
        if (open.size >= MAX_IN_FLIGHT) {
          skipped++;
        } else {
          started++;
          launch();
        }
      }
      await sleep(5);
    }
  };
  const sampleThroughout = async () => {
    for (;;) {
      const nextAt =
        (Math.floor((performance.now() - begin) / options.sampleEveryMs) + 1) * options.sampleEveryMs;
      await sleep(Math.max(0, nextAt - (performance.now() - begin)));
      if (!running()) return;
      const s = await take("load");
      say(
        `${(s.atMs / 1000).toFixed(0).padStart(4)} s  calls ${started} (open ${open.size}, ended ${ended})` +
          `  rss ${mib(s.rssBytes)}  live heap ${mib(s.liveHeapBytes)}  fds ${s.fds}  sockets ${s.sockets}` +
          `  upstream tcp ${s.tcp.upstream}  pool in flight ${s.pool.inFlight}`,
      );
    }
  };
  await Promise.all([pace(), sampleThroughout().catch((error: unknown) => fail(messageOf(error)))]);
  const exit = gateway.exit();
  if (exit !== undefined) fail(`the gateway ${exit}`);
  if (failure) say(`STOPPED: ${failure.reason}`);
  // Every call has a deadline, which grpc-js enforces on its side whatever the gateway does.
  await Promise.all(open.keys());
  if (failure === undefined) {
    await sleep(SETTLE_MS);
    const s = await take("after").catch((error: unknown) => fail(messageOf(error)));
    if (s)
      say(
        `after the load: live heap ${mib(s.liveHeapBytes)}  fds ${s.fds}  pool in flight ${s.pool.inFlight}`,
      );
  }
  return { samples, calls: { started, skipped, outcomes, examples }, ...(failure ? { failure } : {}) };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}
