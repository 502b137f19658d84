import type { IncomingHttpHeaders } from "node:http";
import type { Socket } from "node:net";
import tls from "node:tls";
import { buildConnector, Client, type Dispatcher, Pool } from "undici";
import type { PoolConfig } from "../config/schema.js";
import { installHttp2CancelOnAbort } from "./http2-cancel-on-abort.js";
import {
  type CountersSnapshot,
  OriginCounters,
  type OriginSnapshot,
  snapshotCounters,
  sumCounters,
} from "./origin-counters.js";
import { awaitConnectionFacts, isIdle, REQUEST_TAG_HEADER, trackSocket } from "./socket-ledger.js";
import { toUpstreamError } from "./upstream-error.js";

export interface UpstreamRequest {
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** The caller's cancel or deadline: aborting it resets the upstream HTTP/2 stream. */
  signal?: AbortSignal;
}

export interface UpstreamResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Dispatcher.ResponseData["body"];
  /** The origin, the ALPN protocol and whether the socket had carried a request before. */
  connection: { origin: string; protocol: string; reused: boolean };
}

export interface OriginOptions {
  /** Overrides of the default pool settings for this origin. */
  pool?: Partial<PoolConfig>;
  /** Extra trusted CA certificates (PEM), for an upstream with a private CA such as the demo; the system's stay trusted. */
  ca?: string;
}

let tagCounter = 0;
const tagPrefix = Math.random().toString(36).slice(2, 8);

/** One origin's pool, as a provider holds it: requests go straight to it, with no lookup per call. */
export interface UpstreamOrigin {
  readonly origin: string;
  request(request: UpstreamRequest): Promise<UpstreamResponse>;
}

/** Where providers declare the origins they send to, and get each origin's pool back. */
export interface OriginRegistry {
  /** Declares an origin and its settings; the first declaration of an origin wins. */
  register(origin: string, options?: OriginOptions): UpstreamOrigin;
}

/** What a reload did to the pools, by origin. */
export interface PoolChanges {
  /** Unchanged settings: the same pool, its connections still open. */
  kept: string[];
  /** New origins, and origins whose settings changed (their old pool drains). */
  opened: string[];
  /** Origins no longer in the config; their pools drain. */
  drained: string[];
}

/** One connection pool per upstream origin, HTTP/2 first; knows nothing of models or providers. */
export class UpstreamPools implements OriginRegistry {
  private origins = new Map<string, OriginPool>();
  /** Pools a reload replaced, serving their calls in flight until they close. */
  private readonly draining = new Set<OriginPool>();

  constructor(private defaults: PoolConfig) {
    installHttp2CancelOnAbort();
  }

  register(origin: string, options: OriginOptions = {}): UpstreamOrigin {
    const key = new URL(origin).origin;
    let pool = this.origins.get(key);
    if (pool === undefined) {
      pool = new OriginPool(key, { ...this.defaults, ...options.pool }, options.ca);
      this.origins.set(key, pool);
    }
    return pool;
  }

  async request(origin: string, request: UpstreamRequest): Promise<UpstreamResponse> {
    const pool = this.origins.get(origin);
    if (pool === undefined) throw new Error(`upstream origin ${origin} is not registered`);
    return pool.request(request);
  }

  /**
   * The pools a new config needs, made beside the running ones: an origin whose settings are
   * unchanged keeps its pool and its open connections. Nothing running changes until `commit`.
   */
  plan(defaults: PoolConfig): PoolPlan {
    return new PoolPlan(this.origins, defaults);
  }

  /**
   * Serves from the plan's pools from now on. The pools it left out still carry the requests of
   * calls that began before (a retry too); `closeRetired` closes them once those calls are done.
   */
  commit(plan: PoolPlan): { changes: PoolChanges; closeRetired: () => Promise<void> } {
    const running = this.origins;
    const wanted = plan.pools;
    const kept = [...wanted].filter(([origin, pool]) => running.get(origin) === pool).map(([o]) => o);
    const retired = [...running.values()].filter((pool) => wanted.get(pool.origin) !== pool);
    this.origins = wanted;
    this.defaults = plan.defaults;
    for (const pool of retired) this.draining.add(pool);
    const changes = {
      kept,
      opened: [...wanted.keys()].filter((origin) => !kept.includes(origin)),
      drained: retired.filter((pool) => !wanted.has(pool.origin)).map((pool) => pool.origin),
    };
    const closeRetired = async () => {
      // undici lets what is in flight finish before it closes.
      await Promise.all(retired.map((pool) => pool.close()));
      for (const pool of retired) this.draining.delete(pool);
    };
    return { changes, closeRetired };
  }

  /** Closes what a plan opened and will not be used: its pools have made no connection yet. */
  async abandon(plan: PoolPlan): Promise<void> {
    await Promise.all(plan.opened().map((pool) => pool.close()));
  }

  /**
   * Opens a connection to every pooled origin that asks for warm-up, so the first requests do
   * not pay the handshake. Resolves with the origins that could not be reached; never rejects.
   */
  async warmUp(timeoutMs = 5_000): Promise<WarmUpFailure[]> {
    return warmUp([...this.origins.values()], timeoutMs);
  }

  snapshot(): { totals: CountersSnapshot; origins: OriginSnapshot[] } {
    // A replaced pool shares its origin's counters with the new one: counted once, so totals never fall.
    const live = new Set([...this.origins.values()].map((pool) => pool.counters));
    const draining = [...this.draining].filter((pool) => !live.has(pool.counters));
    const origins = [...this.origins.values(), ...draining].map((pool) => pool.snapshot());
    return { totals: sumCounters(origins.map((o) => o.counters)), origins };
  }

  /** Lets in-flight requests finish, then closes every connection. */
  async close(): Promise<void> {
    await Promise.all([...this.origins.values(), ...this.draining].map((pool) => pool.close()));
  }
}

export interface WarmUpFailure {
  origin: string;
  error: string;
}

async function warmUp(pools: OriginPool[], timeoutMs: number): Promise<WarmUpFailure[]> {
  const results = await Promise.all(pools.map((pool) => pool.warmUp(timeoutMs)));
  return results.filter((r): r is WarmUpFailure => r !== undefined);
}

/** The pools of a config being loaded; see UpstreamPools.plan. */
export class PoolPlan implements OriginRegistry {
  readonly pools = new Map<string, OriginPool>();

  constructor(
    private readonly running: ReadonlyMap<string, OriginPool>,
    readonly defaults: PoolConfig,
  ) {}

  register(origin: string, options: OriginOptions = {}): UpstreamOrigin {
    const key = new URL(origin).origin;
    const planned = this.pools.get(key);
    if (planned !== undefined) return planned;
    const settings = { ...this.defaults, ...options.pool };
    const current = this.running.get(key);
    const pool = current?.hasSettings(settings, options.ca)
      ? current
      : new OriginPool(key, settings, options.ca, current?.counters);
    this.pools.set(key, pool);
    return pool;
  }

  /** Warms the pools this plan opens (see UpstreamPools.warmUp) before any call is sent to them. */
  async warmUp(timeoutMs = 5_000): Promise<WarmUpFailure[]> {
    return warmUp(this.opened(), timeoutMs);
  }

  /** The pools this plan made, for new origins or new settings. */
  opened(): OriginPool[] {
    return [...this.pools.values()].filter((pool) => this.running.get(pool.origin) !== pool);
  }
}

class OriginPool implements UpstreamOrigin {
  readonly counters: OriginCounters;
  private readonly clientOptions: Pool.Options;
  private readonly pool: Pool | undefined;
  private readonly oneShotClients = new Set<Client>();

  constructor(
    readonly origin: string,
    private readonly settings: PoolConfig,
    private readonly ca: string | undefined,
    /** The counters of the pool this one replaces: an origin's totals carry on across a reload. */
    counters = new OriginCounters(origin, settings.pooling),
  ) {
    this.counters = counters;
    this.clientOptions = {
      allowH2: true,
      connect: this.countingConnector(ca),
      h2Options: {
        maxConcurrentStreams: settings.max_concurrent_streams,
        pingInterval: settings.ping_interval,
      },
      keepAliveTimeout: settings.keepalive_expiry,
      keepAliveMaxTimeout: settings.keepalive_expiry,
      headersTimeout: settings.request_timeout,
      bodyTimeout: settings.request_timeout,
    };
    this.pool = settings.pooling
      ? new Pool(origin, { ...this.clientOptions, connections: settings.max_connections })
      : undefined;
  }

  async request(request: UpstreamRequest): Promise<UpstreamResponse> {
    const tag = `${tagPrefix}${(tagCounter++).toString(36)}`;
    const connection = { origin: this.origin, protocol: "", reused: false };
    const forget = awaitConnectionFacts(tag, (facts) => {
      connection.protocol = facts.protocol;
      connection.reused = facts.reused;
    });
    const dispatcher = this.pool ?? this.oneShotClient();
    try {
      const response = await dispatcher.request({
        origin: this.origin,
        method: request.method,
        path: request.path,
        headers: { ...request.headers, [REQUEST_TAG_HEADER]: tag },
        body: request.body ?? null,
        signal: request.signal ?? null,
      });
      // Whoever reads the body gets its errors through their own listener; this one is for the
      // moments nobody reads: a body destroyed after undici had its end (RequestAbortedError) or
      // failing while a reader is between chunks would otherwise be an uncaught 'error' event.
      // Attached as the response resolves: undici destroys a failing body a microtask after it
      // settles this promise (api-request.js), never sooner.
      response.body.on("error", ignoreError);
      if (dispatcher instanceof Client) closeWhenRead(response.body, dispatcher, this.oneShotClients);
      return { statusCode: response.statusCode, headers: response.headers, body: response.body, connection };
    } catch (error) {
      if (dispatcher instanceof Client) this.retire(dispatcher);
      // Headers written (the ledger told their socket) means the upstream may have the request.
      throw toUpstreamError(
        error,
        this.origin,
        request.signal,
        connection.protocol === "" ? "unsent" : "sent",
      );
    } finally {
      forget();
    }
  }

  /** A HEAD request opens (and, for HTTP/2, settles) a connection; any answer will do. */
  async warmUp(timeoutMs: number): Promise<WarmUpFailure | undefined> {
    if (this.pool === undefined || !this.settings.warm_up) return undefined;
    try {
      const response = await this.pool.request({
        method: "HEAD",
        path: "/",
        headers: { [REQUEST_TAG_HEADER]: "warm-up" },
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.body.dump();
      return undefined;
    } catch (error) {
      return { origin: this.origin, error: toUpstreamError(error, this.origin).message };
    }
  }

  hasSettings(settings: PoolConfig, ca: string | undefined): boolean {
    return ca === this.ca && JSON.stringify(settings) === JSON.stringify(this.settings);
  }

  snapshot(): OriginSnapshot {
    const queued = this.pool?.stats.queued ?? 0;
    return {
      origin: this.origin,
      protocol: this.counters.protocol,
      pooling: this.settings.pooling,
      counters: snapshotCounters(this.counters, queued),
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.pool?.close(), ...[...this.oneShotClients].map((c) => c.close())]);
  }

  /** `pooling: false`: a client of its own per request, closed once its response is read. */
  private oneShotClient(): Client {
    const client = new Client(this.origin, this.clientOptions);
    this.oneShotClients.add(client);
    return client;
  }

  private retire(client: Client): void {
    this.oneShotClients.delete(client);
    client.destroy().catch(() => {});
  }

  /** undici's own connector, wrapped so every socket and failed connect is counted. */
  private countingConnector(ca: string | undefined): buildConnector.connector {
    const connect = buildConnector({
      allowH2: true,
      timeout: this.settings.connect_timeout,
      // `ca` would replace Node's trust store, so the system's roots (and NODE_EXTRA_CA_CERTS) are kept
      // beside it, in one context made once: a `ca` per connect parses every root again (~13 ms each).
      ...(ca === undefined
        ? {}
        : { secureContext: tls.createSecureContext({ ca: [...tls.getCACertificates("default"), ca] }) }),
    });
    const counters = this.counters;
    const maxIdle = this.settings.max_idle_connections;
    return (options, callback) => {
      const startedAt = performance.now();
      connect(options, (error, socket) => {
        if (error !== null) {
          counters.connectErrorsTotal++;
          callback(error, null);
          return;
        }
        const tlsSocket = socket as Socket & {
          alpnProtocol?: string | false;
          isSessionReused?: () => boolean;
        };
        const protocol = tlsSocket.alpnProtocol || "http/1.1";
        counters.recordConnect(
          performance.now() - startedAt,
          protocol,
          tlsSocket.isSessionReused?.() ?? false,
        );
        const trim =
          maxIdle < this.settings.max_connections ? trimmer(socket as Socket, counters, maxIdle) : undefined;
        trackSocket(socket as Socket, counters, protocol, trim);
        callback(null, socket);
      });
    };
  }
}

function ignoreError(): void {}

function closeWhenRead(body: UpstreamResponse["body"], client: Client, clients: Set<Client>): void {
  body.once("close", () => {
    clients.delete(client);
    client.close().catch(() => {});
  });
}

/** Enforces `max_idle_connections`: a socket that goes idle beyond the limit is closed. */
function trimmer(socket: Socket, counters: OriginCounters, maxIdle: number): () => void {
  // Looked at on the next turn: undici may hand the socket a queued request first.
  const trimIfStillIdle = () => {
    if (isIdle(socket) && counters.activeConnections - counters.busyConnections > maxIdle) socket.destroy();
  };
  return () => setImmediate(trimIfStillIdle);
}
