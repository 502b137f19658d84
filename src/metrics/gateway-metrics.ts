import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { CountersSnapshot } from "../upstream/origin-counters.js";
import type { UpstreamPools } from "../upstream/upstream-pools.js";

/** Latency buckets in seconds, from sub-millisecond gateway work to minute-long generations. */
const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
];
const OVERHEAD_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];

/**
 * Every Prometheus metric the gateway exports, defined in one place. Labels are bounded:
 * method, protocol, code, provider, origin, model and key names come from the configuration or
 * the contract, never from free text; no key itself reaches a label.
 */
export class GatewayMetrics {
  readonly registry = new Registry();

  readonly rpcs = new Counter({
    name: "weaver_rpc_requests_total",
    help: "RPCs handled, by method, protocol (grpc, grpc-web, connect) and status code.",
    labelNames: ["method", "protocol", "code"] as const,
    registers: [this.registry],
  });

  readonly rpcDuration = new Histogram({
    name: "weaver_rpc_duration_seconds",
    help: "RPC duration from request to last response byte, by method and protocol.",
    labelNames: ["method", "protocol"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly overhead = new Histogram({
    name: "weaver_gateway_overhead_seconds",
    help: "Time the gateway itself added to an RPC: its duration minus the time spent waiting on the upstream.",
    labelNames: ["method"] as const,
    buckets: OVERHEAD_BUCKETS,
    registers: [this.registry],
  });

  readonly upstreamRequests = new Counter({
    name: "weaver_upstream_requests_total",
    help: "Upstream attempts, by provider, origin and HTTP status (0 when no status was received).",
    labelNames: ["provider", "origin", "status"] as const,
    registers: [this.registry],
  });

  readonly upstreamDuration = new Histogram({
    name: "weaver_upstream_duration_seconds",
    help: "Upstream attempt duration, from sending the request to its last byte (to its headers on failure).",
    labelNames: ["provider", "origin"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly timeToFirstToken = new Histogram({
    name: "weaver_upstream_time_to_first_token_seconds",
    help: "For streams: time from sending the upstream request to its first text.",
    labelNames: ["provider", "origin"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly tokens = new Counter({
    name: "weaver_tokens_total",
    help: "Tokens as the providers reported them, by provider, model and direction (input or output).",
    labelNames: ["provider", "model", "direction"] as const,
    registers: [this.registry],
  });

  readonly cost = new Counter({
    name: "weaver_cost_usd_total",
    help: "What calls cost in USD at the deployments' prices, by caller key name (empty without keys) and model.",
    labelNames: ["key", "model"] as const,
    registers: [this.registry],
  });

  readonly quotaRefusals = new Counter({
    name: "weaver_quota_refusals_total",
    help: "Calls refused for a key's quota, by key name and the limit (requests, tokens, concurrent, budget).",
    labelNames: ["key", "limit"] as const,
    registers: [this.registry],
  });

  readonly storeErrors = new Counter({
    name: "weaver_store_errors_total",
    help: "Failures to reach the shared store (Redis), by operation (admit, settle, usage, cache_get, cache_set).",
    labelNames: ["operation"] as const,
    registers: [this.registry],
  });

  readonly cacheLookups = new Counter({
    name: "weaver_cache_lookups_total",
    help: "Response cache lookups by model and result (hit, miss); hit rate = hits / lookups.",
    labelNames: ["model", "result"] as const,
    registers: [this.registry],
  });

  readonly cacheCoalesced = new Counter({
    name: "weaver_cache_coalesced_total",
    help: "Calls answered by an identical call already in flight (no upstream request of their own), by model.",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });

  readonly cacheStoredBytes = new Counter({
    name: "weaver_cache_stored_bytes_total",
    help: "Bytes of answers written to the response cache (compressed in Redis), by model.",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });

  readonly connectionsCutOff = new Counter({
    name: "weaver_connections_cut_off_total",
    help: "Caller connections closed with GOAWAY ENHANCE_YOUR_CALM, by abuse (rapid_reset, ping_flood, settings_flood).",
    labelNames: ["abuse"] as const,
    registers: [this.registry],
  });

  constructor(pools: UpstreamPools) {
    collectDefaultMetrics({ register: this.registry, prefix: "weaver_" });
    // prom-client names these gauges `_total`, which Prometheus reserves for counters.
    for (const name of ["active_handles_total", "active_requests_total", "active_resources_total"]) {
      this.registry.removeSingleMetric(`weaver_nodejs_${name}`);
    }
    this.registerPoolMetrics(pools);
  }

  /** The in-process response cache's size and evictions (a Redis cache reports its own). */
  observeCache(cache: { readonly bytes: number; readonly evictions: number }): void {
    new Gauge({
      name: "weaver_cache_bytes",
      help: "Bytes of answers the in-process response cache holds now.",
      registers: [this.registry],
      collect() {
        this.set(cache.bytes);
      },
    });
    new Counter({
      name: "weaver_cache_evictions_total",
      help: "Answers the in-process response cache pushed out to stay within cache.max_bytes.",
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(cache.evictions);
      },
    });
  }

  /** Generation calls in flight, and those refused for overload (counted in weaver_rpc_requests_total too). */
  observeLoad(shedder: { readonly inFlight: number }): void {
    new Gauge({
      name: "weaver_calls_in_flight",
      help: "Generation calls admitted and not yet ended (server.max_in_flight bounds it).",
      registers: [this.registry],
      collect() {
        this.set(shedder.inFlight);
      },
    });
  }

  /** The text exposition format for GET /metrics. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Pool numbers are read from the same snapshot as PoolStats at scrape time, so the two never disagree. */
  private registerPoolMetrics(pools: UpstreamPools): void {
    const labelNames = ["origin", "protocol"] as const;
    const eachOrigin = (record: (labels: Record<string, string>, counters: CountersSnapshot) => void) => {
      for (const { origin, protocol, counters } of pools.snapshot().origins) {
        record({ origin, protocol: protocol || "none" }, counters);
      }
    };
    for (const [name, help, field] of POOL_COUNTERS) {
      new Counter({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          this.reset();
          eachOrigin((labels, counters) => this.inc(labels, counters[field]));
        },
      });
    }
    for (const [name, help, field] of POOL_GAUGES) {
      new Gauge({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          this.reset();
          eachOrigin((labels, counters) => this.set(labels, counters[field]));
        },
      });
    }
  }
}

type PoolMetric = readonly [name: string, help: string, field: keyof CountersSnapshot];

const POOL_COUNTERS: PoolMetric[] = [
  ["weaver_pool_requests_total", "Requests sent upstream (headers written).", "requestsTotal"],
  ["weaver_pool_connections_created_total", "Upstream sockets connected.", "connectionsCreatedTotal"],
  [
    "weaver_pool_requests_on_reused_connections_total",
    "Requests sent on a socket that had already carried one.",
    "requestsOnReusedConnections",
  ],
  ["weaver_pool_connect_errors_total", "Failed upstream connects.", "connectErrorsTotal"],
  [
    "weaver_pool_tls_sessions_resumed_total",
    "TLS handshakes that resumed a session.",
    "tlsSessionsResumedTotal",
  ],
];

const POOL_GAUGES: PoolMetric[] = [
  ["weaver_pool_reuse_ratio", "Requests on reused connections / requests.", "reuseRate"],
  ["weaver_pool_active_connections", "Upstream sockets open now.", "activeConnections"],
  ["weaver_pool_idle_connections", "Upstream sockets open with nothing in flight.", "idleConnections"],
  ["weaver_pool_in_flight_requests", "Upstream requests running now.", "inFlight"],
  ["weaver_pool_queued_requests", "Upstream requests waiting for a connection or stream.", "queued"],
];
