import type { OpenResources } from "./process-resources.js";

/** The messages between the soak and its gateway child over the IPC channel, and what a sample holds. */

/** One reading of the gateway process, taken right after a full GC. */
export interface GatewaySample extends OpenResources {
  rssBytes: number;
  /** heapUsed after a full GC: the objects still reachable, i.e. the live heap. */
  liveHeapBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
  /** How long the forced GC took. */
  gcMs: number;
  /** Totals of the upstream pools (PoolStats), summed over origins. */
  pool: { activeConnections: number; inFlight: number; queued: number; requestsTotal: number };
}

/** What the child is started with: the gateway config document, and which ports are upstreams. */
export interface ChildSetup {
  config: unknown;
  upstreamPorts: number[];
}

export type ParentMessage = { type: "sample"; id: number } | { type: "stop" };

export type ChildMessage =
  | { type: "ready"; url: string }
  | { type: "sample"; id: number; sample: GatewaySample }
  | { type: "failed"; message: string };

/** The environment variable that carries the ChildSetup as JSON. */
export const SETUP_ENV = "WEAVER_SOAK_SETUP";
