import type { AddressInfo } from "node:net";
import { GatewayService } from "../gen/weaver/gateway/v1/gateway_pb.js";
import { accessReports } from "./access/access-reports.js";
import { cacheReports } from "./cache/cache-reports.js";
import { ResponseCache } from "./cache/response-cache.js";
import { readConfiguredFile } from "./config/configured-file.js";
import type { GatewayConfig } from "./config/schema.js";
import type { DemoUpstreams } from "./demo/demo-upstreams.js";
import type { Logger } from "./log/logger.js";
import { GatewayMetrics } from "./metrics/gateway-metrics.js";
import type { ProviderSet } from "./providers/create-providers.js";
import { buildServedConfig, type GatewayParts, type ServedConfig } from "./served-config.js";
import { createHealth, ServingStatus } from "./server/health/health-service.js";
import { OVERALL } from "./server/health/serving-status.js";
import { connectionLimits, Listener } from "./server/listener.js";
import { CallObserver } from "./service/call-observer.js";
import { LoadShedder } from "./service/load-shedder.js";
import type { PoolsReport } from "./service/summed-views.js";
import { modelsToProto } from "./service/to-proto.js";
import { createStores } from "./store/create-stores.js";
import { type PoolChanges, UpstreamPools } from "./upstream/upstream-pools.js";
import type { WorkerLink } from "./workers/worker-link.js";

export interface Gateway {
  /** Where it listens, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  readonly address: AddressInfo;
  readonly pools: UpstreamPools;
  /** The providers of the config served now. */
  readonly providers: ProviderSet;
  /** The embedded demo upstreams serving the demo providers, of the config served now. */
  readonly demoUpstreams: DemoUpstreams;
  readonly metrics: GatewayMetrics;
  /** The config served now: the one it started with, or the last one a reload took. */
  readonly config: GatewayConfig;
  /** True once the pools are warm; false again once shutdown begins. */
  readonly ready: boolean;
  /**
   * Serves `config` from now on, without a restart; see reloadGateway. Rejects with a ConfigError,
   * the running config untouched, when something it names cannot be had.
   */
  reload(config: GatewayConfig): Promise<ReloadReport>;
  /** Drains in-flight RPCs (up to the drain timeout), then closes the pools and demo upstreams. */
  close(): Promise<void>;
}

/** What a reload changed. */
export interface ReloadReport {
  pools: PoolChanges;
  /** Settings the new config changes that only a restart applies (the listener's). */
  needsRestart: string[];
  /**
   * Resolves once the pools and demo upstreams the new config dropped are closed: when the calls
   * that began before the reload are done (or after the new `drain_timeout`), and their requests
   * upstream with them.
   */
  drained: Promise<void>;
}

export interface GatewayDeps {
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** This process is one of `server.workers`: its admin views gather every worker's reports. */
  workers?: WorkerLink;
}

/** Builds the whole gateway from its config, from the pools up to the listener, warms it and starts it. */
export async function startGateway(
  config: GatewayConfig,
  { logger, env = process.env, workers }: GatewayDeps,
): Promise<Gateway> {
  const { server } = config;
  // What the config names outside itself (key variables, files), each mistake by its path, at once.
  const problems: string[] = [];
  const tls = server.tls && {
    cert: Buffer.from(readConfiguredFile(server.tls.cert_file, "server.tls.cert_file", problems)),
    key: Buffer.from(readConfiguredFile(server.tls.key_file, "server.tls.key_file", problems)),
  };
  const pools = new UpstreamPools(config.pool);
  const metrics = new GatewayMetrics(pools);
  const shedder = new LoadShedder(loadLimits(config));
  const observer = new CallObserver(logger, metrics);
  metrics.observeLoad(shedder);
  if (config.keys.length === 0)
    logger.warn(
      "no caller keys are configured: anyone who reaches the port may call (see keys in the README)",
    );
  const stores = createStores(config.store, config.cache);
  if (stores.memoryBlobs) metrics.observeCache(stores.memoryBlobs);
  // Compressed in Redis: a shared cache is paid for in memory and in bytes on the wire.
  const cache = new ResponseCache(
    stores.blobs,
    stores.memoryBlobs === undefined,
    cacheReports(logger, metrics),
  );
  let ready = false;
  const parts: GatewayParts = {
    pools,
    metrics,
    observer,
    shedder,
    health: createHealth(),
    logger,
    env,
    startedAt: new Date(),
    notReady: () => (ready ? shedder.overload() : "starting or draining"),
    maxHeaderBytes: server.connections.max_header_bytes,
    store: stores.shared,
    cache,
    accessReports: accessReports(logger, metrics),
    workers,
  };
  let served: ServedConfig;
  try {
    served = await buildServedConfig(config, parts, undefined, problems);
  } catch (error) {
    // Nothing started is left running: a failed start exits, and the process must end with it.
    shedder.close();
    await stores.close();
    throw error;
  }
  pools.commit(served.pools);
  if (workers) {
    // Read when asked, from the config served then.
    workers.answer("pools", (): PoolsReport => ({ snapshot: pools.snapshot(), startedAt: parts.startedAt }));
    workers.answer("models", () => modelsToProto(served.router.list(), performance.now()));
    workers.answer("metrics", () => metrics.registry.getMetricsAsJSON());
  }
  const listener = new Listener({
    host: server.host,
    port: server.port,
    tls,
    limits: connectionLimits(server.connections),
    onAbuse: (abuse, peer) => {
      metrics.connectionsCutOff.inc({ abuse });
      logger.warn({ abuse, peer }, "caller connection cut off (GOAWAY ENHANCE_YOUR_CALM)");
    },
    // Read per request: a reload swaps it, and a request runs on the config it arrived under.
    handler: (req, res) => served.handler(req, res),
  });
  let address: AddressInfo;
  try {
    address = await listener.listen();
  } catch (error) {
    shedder.close();
    await Promise.all([pools.close(), served.demoUpstreams.close(), stores.close()]);
    throw listenFailure(error, server.host, server.port);
  }
  // Listening first lets /healthz answer while the pools warm; /readyz waits for them.
  for (const { origin, error } of await pools.warmUp()) logger.warn({ origin, error }, "warm-up failed");
  ready = true;
  for (const name of [OVERALL, GatewayService.typeName])
    parts.health.registry.setStatus(name, ServingStatus.SERVING);
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  // One reload at a time: a second waits for the first, so each builds on the config it replaces.
  let reloading: Promise<unknown> = Promise.resolve();
  /** Configs replaced whose calls may still be running: a pool one of them kept must outlive them. */
  const replaced = new Set<ServedConfig>();
  return {
    url: `${server.tls ? "https" : "http"}://${host}:${address.port}`,
    address,
    pools,
    metrics,
    get providers() {
      return served.providers;
    },
    get demoUpstreams() {
      return served.demoUpstreams;
    },
    get config() {
      return served.config;
    },
    get ready() {
      return ready;
    },
    reload(next) {
      const reload = reloading.then(async () => {
        const report = await reloadGateway(served, next, parts, replaced);
        served = report.served;
        return report;
      });
      reloading = reload.catch(() => {});
      return reload.then(({ served: _, ...report }) => report);
    },
    async close() {
      ready = false;
      await reloading;
      // Watchers hear NOT_SERVING and their streams end, so they do not hold the drain open.
      parts.health.shutdown();
      await listener.close(served.config.server.drain_timeout);
      await pools.close();
      await served.demoUpstreams.close();
      // After the drain: the calls that finished in it have settled their usage.
      await stores.close();
      shedder.close();
    },
  };
}

/**
 * Builds the new config's providers and router beside the running ones, warms the origins it
 * adds, then swaps them in: calls arriving from then on take the new routes, keys and limits,
 * calls in flight finish on the old. Pools of unchanged origins are kept, connections and all;
 * those of dropped origins, and their demo upstreams, drain and close.
 */
async function reloadGateway(
  running: ServedConfig,
  config: GatewayConfig,
  parts: GatewayParts,
  replaced: Set<ServedConfig>,
): Promise<ReloadReport & { served: ServedConfig }> {
  const served = await buildServedConfig(config, parts, running);
  for (const { origin, error } of await served.pools.warmUp())
    parts.logger.warn({ origin, error }, "warm-up failed");
  const { changes, closeRetired } = parts.pools.commit(served.pools);
  parts.shedder.setLimits(loadLimits(config));
  const retired = running.demoUpstreams.startedBeside(served.demoUpstreams);
  return {
    served,
    pools: changes,
    needsRestart: [
      ...RESTART_ONLY.filter(
        (key) => JSON.stringify(running.config.server[key]) !== JSON.stringify(config.server[key]),
      ).map((key) => `server.${key}`),
      ...(["store", "cache"] as const)
        .filter((key) => JSON.stringify(running.config[key]) !== JSON.stringify(config[key]))
        .map(String),
    ],
    drained: (async () => {
      // Every replaced config's calls, not only the last one's: a pool the last config kept may
      // still carry a call that began two reloads ago.
      replaced.add(running);
      await Promise.all([...replaced].map((older) => older.requests.idle(config.server.drain_timeout)));
      for (const older of replaced) if (older.requests.count === 0) replaced.delete(older);
      await closeRetired();
      await Promise.all(retired.map((upstream) => upstream.close()));
    })(),
  };
}

/** The listener's settings, fixed while it listens. */
const RESTART_ONLY = ["host", "port", "tls", "connections", "workers"] as const;

const loadLimits = ({ server }: GatewayConfig) => ({
  maxInFlight: server.max_in_flight,
  maxEventLoopDelayMs: server.max_event_loop_delay,
});

/** The address the config names cannot be listened on; its message is one line a person can act on. */
export class ListenError extends Error {
  override name = "ListenError";
}

/** Why the port cannot be listened on, and what to change, when the address is the cause. */
function listenFailure(error: unknown, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const why: Record<string, string> = {
    EADDRINUSE: `port ${port} is in use by another process: set PORT or server.port to a free one`,
    EACCES: `port ${port} may not be listened on by this user: set PORT or server.port above 1023`,
    EADDRNOTAVAIL: `${host} is not an address of this machine: set HOST or server.host`,
  };
  if (code === undefined || why[code] === undefined) return error;
  return new ListenError(`cannot listen on ${host}:${port} (${code}): ${why[code]}`);
}
