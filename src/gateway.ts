import type { AddressInfo } from "node:net";
import { GatewayService } from "../gen/weaver/gateway/v1/gateway_pb.js";
import { readConfiguredFile } from "./config/configured-file.js";
import { ConfigError } from "./config/load-config.js";
import type { GatewayConfig } from "./config/schema.js";
import { type DemoUpstreams, startDemoUpstreams } from "./demo/demo-upstreams.js";
import type { Logger } from "./log/logger.js";
import { GatewayMetrics } from "./metrics/gateway-metrics.js";
import { createOpenAIApi } from "./openai-api/openai-api-handler.js";
import { createProviders, type ProviderSet } from "./providers/create-providers.js";
import { ModelRouter } from "./router/model-router.js";
import { withCors } from "./server/cors.js";
import { withEarlyRefusal } from "./server/early-refusal.js";
import { withHeaderLimit } from "./server/header-limit.js";
import { createHealth, ServingStatus } from "./server/health/health-service.js";
import { OVERALL } from "./server/health/serving-status.js";
import { withHttpRoutes } from "./server/http-routes.js";
import { connectionLimits, Listener } from "./server/listener.js";
import { createRpcHandler } from "./server/rpc-handler.js";
import { CallObserver } from "./service/call-observer.js";
import { createGatewayService } from "./service/gateway-service.js";
import { GenerationCalls } from "./service/generation-calls.js";
import { LoadShedder } from "./service/load-shedder.js";
import { UpstreamPools } from "./upstream/upstream-pools.js";

export interface Gateway {
  /** Where it listens, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  readonly address: AddressInfo;
  readonly pools: UpstreamPools;
  readonly providers: ProviderSet;
  /** The embedded demo upstreams serving the demo providers. */
  readonly demoUpstreams: DemoUpstreams;
  readonly metrics: GatewayMetrics;
  /** True once the pools are warm; false again once shutdown begins. */
  readonly ready: boolean;
  /** Drains in-flight RPCs (up to the drain timeout), then closes the pools and demo upstreams. */
  close(): Promise<void>;
}

export interface GatewayDeps {
  logger: Logger;
  env?: NodeJS.ProcessEnv;
}

/** Builds the whole gateway from its config, from the pools up to the listener, warms it and starts it. */
export async function startGateway(
  config: GatewayConfig,
  { logger, env = process.env }: GatewayDeps,
): Promise<Gateway> {
  const startedAt = new Date();
  // What the config names outside itself (key variables, files), each mistake by its path, at once.
  const problems: string[] = [];
  const tls = config.server.tls && {
    cert: Buffer.from(readConfiguredFile(config.server.tls.cert_file, "server.tls.cert_file", problems)),
    key: Buffer.from(readConfiguredFile(config.server.tls.key_file, "server.tls.key_file", problems)),
  };
  const pools = new UpstreamPools(config.pool);
  const metrics = new GatewayMetrics(pools);
  const demoUpstreams = await startDemoUpstreams(config.providers);
  let providers: ProviderSet;
  let router: ModelRouter;
  try {
    providers = createProviders(config.providers, pools, demoUpstreams.byProvider, env, problems);
    if (problems.length > 0) throw new ConfigError("what it names", problems);
    router = new ModelRouter(
      config.models,
      providers.providers,
      providers.passthrough,
      config.router,
      logger,
    );
  } catch (error) {
    // Nothing started is left running: a failed start exits, and the process must end with it.
    await Promise.all([pools.close(), demoUpstreams.close()]);
    throw error;
  }
  const shedder = new LoadShedder({
    maxInFlight: config.server.max_in_flight,
    maxEventLoopDelayMs: config.server.max_event_loop_delay,
  });
  const observer = new CallObserver(logger, metrics);
  metrics.observeLoad(shedder);
  const calls = new GenerationCalls({
    router,
    metrics,
    observer,
    shedder,
    limits: { maxRequestBytes: config.server.max_request_bytes },
    defaultDeadlineMs: config.server.default_deadline,
  });
  const service = createGatewayService({ router, pools, calls, startedAt });
  let ready = false;
  const health = createHealth();
  const { server } = config;
  const rpc = createRpcHandler({ service, observer, health, maxRequestBytes: server.max_request_bytes });
  const listener = new Listener({
    host: server.host,
    port: server.port,
    tls,
    limits: connectionLimits(server.connections),
    onAbuse: (abuse, peer) => {
      metrics.connectionsCutOff.inc({ abuse });
      logger.warn({ abuse, peer }, "caller connection cut off (GOAWAY ENHANCE_YOUR_CALM)");
    },
    handler: withHeaderLimit(
      withCors(
        withEarlyRefusal(
          withHttpRoutes(rpc, {
            metrics,
            openai: createOpenAIApi({
              router,
              calls,
              observer,
              limits: { maxRequestBytes: server.max_request_bytes },
            }),
            notReady: () => (ready ? shedder.overload() : "starting or draining"),
          }),
          { shedder, observer },
        ),
        { allowedOrigins: server.cors.allowed_origins },
      ),
      server.connections.max_header_bytes,
    ),
  });
  let address: AddressInfo;
  try {
    address = await listener.listen();
  } catch (error) {
    shedder.close();
    await Promise.all([pools.close(), demoUpstreams.close()]);
    throw listenFailure(error, server.host, server.port);
  }
  // Listening first lets /healthz answer while the pools warm; /readyz waits for them.
  for (const { origin, error } of await pools.warmUp()) logger.warn({ origin, error }, "warm-up failed");
  ready = true;
  for (const name of [OVERALL, GatewayService.typeName])
    health.registry.setStatus(name, ServingStatus.SERVING);
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `${server.tls ? "https" : "http"}://${host}:${address.port}`,
    address,
    pools,
    providers,
    demoUpstreams,
    metrics,
    get ready() {
      return ready;
    },
    async close() {
      ready = false;
      // Watchers hear NOT_SERVING and their streams end, so they do not hold the drain open.
      health.shutdown();
      await listener.close(server.drain_timeout);
      await pools.close();
      await demoUpstreams.close();
      shedder.close();
    },
  };
}

/** Why the port cannot be listened on, as a config mistake (exit 2, no stack) when the address is the cause. */
function listenFailure(error: unknown, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const why: Record<string, string> = {
    EADDRINUSE: "is in use by another process",
    EACCES: "may not be listened on by this user",
    EADDRNOTAVAIL: "is not an address of this machine",
  };
  if (code === undefined || why[code] === undefined) return error;
  return new ConfigError("what it names", [
    `server.host, server.port: ${host}:${port} ${why[code]} (${code})`,
  ]);
}
