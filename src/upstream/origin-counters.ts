/** What one origin's sockets have done, updated only from socket and diagnostics events. */
export class OriginCounters {
  protocol = "";
  requestsTotal = 0;
  connectionsCreatedTotal = 0;
  requestsOnReusedConnections = 0;
  activeConnections = 0;
  /** Open sockets that carry at least one request now; idle = active - busy. */
  busyConnections = 0;
  inFlight = 0;
  connectErrorsTotal = 0;
  tlsSessionsResumedTotal = 0;
  connectTimeCount = 0;
  connectTimeSumMs = 0;
  connectTimeMaxMs = 0;

  constructor(
    readonly origin: string,
    readonly pooling: boolean,
  ) {}

  recordConnect(durationMs: number, protocol: string, resumed: boolean): void {
    this.protocol = protocol;
    this.connectionsCreatedTotal++;
    this.activeConnections++;
    if (resumed) this.tlsSessionsResumedTotal++;
    this.connectTimeCount++;
    this.connectTimeSumMs += durationMs;
    if (durationMs > this.connectTimeMaxMs) this.connectTimeMaxMs = durationMs;
  }
}

/** A point-in-time view of counters, with the ratios derived. */
export interface CountersSnapshot {
  requestsTotal: number;
  connectionsCreatedTotal: number;
  requestsOnReusedConnections: number;
  reuseRate: number;
  avgConnectionsPerRequest: number;
  activeConnections: number;
  idleConnections: number;
  inFlight: number;
  queued: number;
  connectErrorsTotal: number;
  tlsSessionsResumedTotal: number;
  connectTimeCount: number;
  connectTimeSumMs: number;
  connectTimeMaxMs: number;
}

export interface OriginSnapshot {
  origin: string;
  protocol: string;
  pooling: boolean;
  counters: CountersSnapshot;
}

export function snapshotCounters(c: OriginCounters, queued: number): CountersSnapshot {
  return withRatios({
    requestsTotal: c.requestsTotal,
    connectionsCreatedTotal: c.connectionsCreatedTotal,
    requestsOnReusedConnections: c.requestsOnReusedConnections,
    reuseRate: 0,
    avgConnectionsPerRequest: 0,
    activeConnections: c.activeConnections,
    idleConnections: c.activeConnections - c.busyConnections,
    inFlight: c.inFlight,
    queued,
    connectErrorsTotal: c.connectErrorsTotal,
    tlsSessionsResumedTotal: c.tlsSessionsResumedTotal,
    connectTimeCount: c.connectTimeCount,
    connectTimeSumMs: c.connectTimeSumMs,
    connectTimeMaxMs: c.connectTimeMaxMs,
  });
}

/** Adds up origins; the ratios are recomputed from the sums, not averaged. */
export function sumCounters(all: CountersSnapshot[]): CountersSnapshot {
  const total = snapshotCounters(new OriginCounters("", true), 0);
  for (const s of all) {
    for (const key of Object.keys(total) as (keyof CountersSnapshot)[]) {
      if (key === "connectTimeMaxMs") total[key] = Math.max(total[key], s[key]);
      else total[key] += s[key];
    }
  }
  return withRatios(total);
}

function withRatios(s: CountersSnapshot): CountersSnapshot {
  s.reuseRate = s.requestsTotal === 0 ? 0 : s.requestsOnReusedConnections / s.requestsTotal;
  s.avgConnectionsPerRequest = s.requestsTotal === 0 ? 0 : s.connectionsCreatedTotal / s.requestsTotal;
  return s;
}
