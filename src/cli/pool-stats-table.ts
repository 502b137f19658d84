import type { PoolCounters, PoolStatsResponse } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { alignedLines } from "./aligned-lines.js";

const COLUMNS = [
  "origin",
  "protocol",
  "requests",
  "reuse",
  "connections",
  "open",
  "idle",
  "in flight",
  "queued",
  "connect errors",
  "mean connect",
] as const;

/** PoolStats as a table a person reads: one row per origin, a total, and one per worker. */
export function poolStatsTable(stats: PoolStatsResponse): string {
  const rows = stats.origins.map((o) =>
    row(`${o.origin}${o.pooling ? "" : " (no pooling)"}`, o.protocol || "-", o.counters),
  );
  if (stats.origins.length > 1) rows.push(row("total", "", stats.totals));
  // With server.workers above 1: each worker's share of the total.
  for (const w of stats.workers) rows.push(row(`  worker ${w.worker} (pid ${w.pid})`, "", w.totals));
  const [header, ...lines] = alignedLines([COLUMNS, ...rows], 2);
  const since = stats.startedAt ? new Date(Number(stats.startedAt.seconds) * 1000).toISOString() : "?";
  const body = rows.length === 0 ? ["(no upstream origins yet)"] : lines;
  return [`counters since ${since}`, header, ...body].join("\n");
}

function row(origin: string, protocol: string, c: PoolCounters | undefined): string[] {
  const count = (c?.connectTimeCount ?? 0n) > 0n ? Number(c?.connectTimeCount) : 0;
  return [
    origin,
    protocol,
    String(c?.requestsTotal ?? 0n),
    `${((c?.reuseRate ?? 0) * 100).toFixed(1)}%`,
    String(c?.connectionsCreatedTotal ?? 0n),
    String(c?.activeConnections ?? 0),
    String(c?.idleConnections ?? 0),
    String(c?.inFlight ?? 0),
    String(c?.queued ?? 0),
    String(c?.connectErrorsTotal ?? 0n),
    count === 0 ? "-" : `${((c?.connectTimeSumMs ?? 0) / count).toFixed(1)} ms`,
  ];
}
