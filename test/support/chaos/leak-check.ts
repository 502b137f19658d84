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
}

/** How long resources get to return to their baseline after a batch (a reset is not instant). */
const SETTLE_MS = 3_000;
const POLL_MS = 50;

export async function snapshot(rig: ChaosRig): Promise<ResourceSnapshot> {
  const stats = (await rig.client().unary("poolStats", {}, 2_000)) as {
    totals?: { inFlight?: number; queued?: number };
  };
  const upstreams = [...rig.upstreams.values()];
  return {
    fds: rig.fds(),
    upstreamConnections: upstreams.reduce((sum, u) => sum + u.openConnections(), 0),
    upstreamStreams: upstreams.reduce((sum, u) => sum + u.openStreams(), 0),
    busiestUpstreamConnections: Math.max(...upstreams.map((u) => u.openConnections())),
    inFlight: stats.totals?.inFlight ?? 0,
    queued: stats.totals?.queued ?? 0,
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
  if (now.busiestUpstreamConnections > MAX_CONNECTIONS_PER_ORIGIN + lingering)
    leaks.push(`${now.busiestUpstreamConnections} connections open to one upstream`);
  if (now.upstreamStreams > lingering) leaks.push(`${now.upstreamStreams} upstream streams open`);
  if (now.inFlight > lingering || now.queued > 0)
    leaks.push(`PoolStats in_flight ${now.inFlight}, queued ${now.queued}`);
  return leaks;
}

/** Polls until nothing leaks, for up to SETTLE_MS; the leaks still there then, or none. */
export async function settle(
  rig: ChaosRig,
  baseline: ResourceSnapshot,
  lingering: () => number,
  settleMs = SETTLE_MS,
): Promise<string[]> {
  const until = performance.now() + settleMs;
  for (;;) {
    const leaks = leaksOf(await snapshot(rig), baseline, lingering());
    if (leaks.length === 0 || performance.now() > until) return leaks;
    await sleep(POLL_MS);
  }
}
