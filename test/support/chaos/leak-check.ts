import { setTimeout as sleep } from "node:timers/promises";
import { type ChaosRig, MAX_CONNECTIONS_PER_ORIGIN } from "./chaos-rig.js";

/** What can leak, read at one moment: the gateway's fds and pool, the upstreams' sockets and streams. */
export interface ResourceSnapshot {
  fds: number;
  upstreamConnections: number;
  upstreamStreams: number;
  /** The largest number of connections any one upstream has open. */
  busiestUpstreamConnections: number;
  inFlight: number;
  queued: number;
  /** Generation calls the gateway has admitted and not released (weaver_calls_in_flight). */
  callsInFlight: number;
}

/** How long resources get to return to their baseline after a batch (a reset is not instant). */
const SETTLE_MS = 3_000;
const POLL_MS = 50;

/** The resources now; PoolStats not answering within 2 s is itself a finding, thrown as one. */
export async function snapshot(rig: ChaosRig): Promise<ResourceSnapshot> {
  let stats: { totals?: { inFlight?: number; queued?: number } };
  try {
    stats = await rig.client().unary("poolStats", {}, 2_000);
  } catch (error) {
    throw new Error(`PoolStats failed: ${(error as { details?: string }).details ?? String(error)}`);
  }
  const upstreams = [...rig.upstreams.values()];
  const metrics = await (
    await fetch(`${rig.gateway().url}/metrics`, { signal: AbortSignal.timeout(2_000) })
  ).text();
  const callsInFlight = Number(/^weaver_calls_in_flight (\d+)$/m.exec(metrics)?.[1] ?? Number.NaN);
  return {
    fds: rig.fds(),
    upstreamConnections: upstreams.reduce((sum, u) => sum + u.openConnections(), 0),
    upstreamStreams: upstreams.reduce((sum, u) => sum + u.openStreams(), 0),
    busiestUpstreamConnections: Math.max(...upstreams.map((u) => u.openConnections())),
    inFlight: stats.totals?.inFlight ?? 0,
    queued: stats.totals?.queued ?? 0,
    callsInFlight,
  };
}

/**
 * What has not returned to the baseline. Upstream connections are the pool's to keep (up to its
 * limit), so the gateway's fds are compared net of them. `lingering` responses are allowed: streams
 * the upstream finished and left open, which the gateway reads to their end for up to 5 s.
 */
export function leaksOf(now: ResourceSnapshot, baseline: ResourceSnapshot, lingering: number): string[] {
  const leaks: string[] = [];
  const ownFds = now.fds - now.upstreamConnections;
  const baselineOwnFds = baseline.fds - baseline.upstreamConnections;
  if (ownFds > baselineOwnFds)
    leaks.push(`gateway fds ${now.fds} (net of upstream sockets ${ownFds}, baseline ${baselineOwnFds})`);
  const connectionLimit = Math.max(MAX_CONNECTIONS_PER_ORIGIN, baseline.busiestUpstreamConnections);
  if (now.busiestUpstreamConnections > connectionLimit + lingering)
    leaks.push(`${now.busiestUpstreamConnections} connections open to one upstream`);
  if (now.upstreamStreams > baseline.upstreamStreams + lingering)
    leaks.push(`${now.upstreamStreams} upstream streams open (baseline ${baseline.upstreamStreams})`);
  if (now.inFlight > baseline.inFlight + lingering || now.queued > baseline.queued)
    leaks.push(
      `PoolStats in_flight ${now.inFlight}, queued ${now.queued} (baseline ${baseline.inFlight}, ${baseline.queued})`,
    );
  // Every call ended, so every admission was released: a leak here would refuse calls forever.
  if (!(now.callsInFlight <= baseline.callsInFlight))
    leaks.push(`weaver_calls_in_flight ${now.callsInFlight} (baseline ${baseline.callsInFlight})`);
  return leaks;
}

/** The larger of each figure: a leak once reported becomes the baseline, so only new ones are reported. */
export function raised(baseline: ResourceSnapshot, now: ResourceSnapshot): ResourceSnapshot {
  const ownFds = Math.max(baseline.fds - baseline.upstreamConnections, now.fds - now.upstreamConnections);
  return {
    fds: ownFds + now.upstreamConnections,
    upstreamConnections: now.upstreamConnections,
    upstreamStreams: Math.max(baseline.upstreamStreams, now.upstreamStreams),
    busiestUpstreamConnections: Math.max(baseline.busiestUpstreamConnections, now.busiestUpstreamConnections),
    inFlight: Math.max(baseline.inFlight, now.inFlight),
    queued: Math.max(baseline.queued, now.queued),
    callsInFlight: Math.max(baseline.callsInFlight, now.callsInFlight),
  };
}

/** Polls until nothing leaks, for up to SETTLE_MS; the leaks still there then (or none), and the last snapshot. */
export async function settle(
  rig: ChaosRig,
  baseline: ResourceSnapshot,
  lingering: () => number,
  settleMs = SETTLE_MS,
): Promise<{ leaks: string[]; last: ResourceSnapshot }> {
  const until = performance.now() + settleMs;
  for (;;) {
    const last = await snapshot(rig);
    const leaks = leaksOf(last, baseline, lingering());
    if (leaks.length === 0 || performance.now() > until) return { leaks, last };
    await sleep(POLL_MS);
  }
}
