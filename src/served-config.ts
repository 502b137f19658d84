import { AccessControl, type AccessReports } from "./access/access-control.js";
import { CallerKeys } from "./access/caller-keys.js";
import type { ResponseCache } from "./cache/response-cache.js";
import { ConfigError } from "./config/load-config.js";
import type { GatewayConfig } from "./config/schema.js";
import { type DemoUpstreams, startDemoUpstreams } from "./demo/demo-upstreams.js";
import type { Logger } from "./log/logger.js";
import type { GatewayMetrics } from "./metrics/gateway-metrics.js";
import { summedExposition } from "./metrics/summed-metrics.js";
import { createOpenAIApi } from "./openai-api/openai-api-handler.js";
import { createProviders, type ProviderSet } from "./providers/create-providers.js";
import { ModelRouter } from "./router/model-router.js";
import { AdminAccess } from "./server/admin-access.js";
import { withCors } from "./server/cors.js";
import { withEarlyRefusal } from "./server/early-refusal.js";
import { withHeaderLimit } from "./server/header-limit.js";
import type { HealthServer } from "./server/health/health-service.js";
import { withHttpRoutes } from "./server/http-routes.js";
import type { RequestHandler } from "./server/listener.js";
import { RequestsInFlight } from "./server/requests-in-flight.js";
import { createRpcHandler } from "./server/rpc-handler.js";
import type { CallObserver } from "./service/call-observer.js";
import { createGatewayService } from "./service/gateway-service.js";
import { GenerationCalls } from "./service/generation-calls.js";
import type { LoadShedder } from "./service/load-shedder.js";
import { SharedAnswers } from "./service/shared-answers.js";
import type { SharedStore } from "./store/shared-store.js";
import type { PoolPlan, UpstreamPools } from "./upstream/upstream-pools.js";
import type { Workers } from "./workers/worker-messages.js";

/** What lives as long as the process, whatever config it serves. */
export interface GatewayParts {
  pools: UpstreamPools;
  metrics: GatewayMetrics;
  observer: CallObserver;
  shedder: LoadShedder;
  health: HealthServer;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  startedAt: Date;
  /** Why /readyz should answer 503 now, or undefined when ready. */
  notReady: () => string | undefined;
  /** The listener's header limit: fixed while it listens, so a reload does not change it halfway. */
  maxHeaderBytes: number;
  /** Quota counters and usage: kept across reloads (a changed `store` needs a restart). */
  store: SharedStore;
  /** Cached answers: kept across reloads (a changed `cache` needs a restart). */
  cache: ResponseCache;
  accessReports: AccessReports;
  /** Set when this process is one of `server.workers`: the admin views sum every worker's. */
  workers: Workers | undefined;
}

/**
 * Everything one config builds to serve calls: its demo upstreams, providers and router, and the
 * request handler over them. A reload builds another beside the running one and swaps the handler
 * in one assignment; each call runs start to end on the one it arrived on.
 */
export interface ServedConfig {
  readonly config: GatewayConfig;
  readonly handler: RequestHandler;
  /** The requests its handler is serving now. */
  readonly requests: RequestsInFlight;
  readonly providers: ProviderSet;
  readonly router: ModelRouter;
  readonly demoUpstreams: DemoUpstreams;
  /** The pools the providers send to, to be committed once this config is taken. */
  readonly pools: PoolPlan;
}

/**
 * Builds what `config` serves with, reusing from `running` (on a reload) every demo upstream and
 * upstream pool whose settings are unchanged. Throws ConfigError naming what the config refers to
 * that cannot be had (key variables, files); then nothing it started is left running.
 */
export async function buildServedConfig(
  config: GatewayConfig,
  parts: GatewayParts,
  running?: ServedConfig,
  /** Problems found before, reported with this config's own. */
  problems: string[] = [],
): Promise<ServedConfig> {
  const { pools, metrics, observer, shedder, health, logger, env, startedAt } = parts;
  const demoUpstreams = await startDemoUpstreams(config.providers, running?.demoUpstreams);
  const plan = pools.plan(config.pool);
  let providers: ProviderSet;
  let router: ModelRouter;
  try {
    providers = createProviders(config.providers, plan, demoUpstreams.byProvider, env, problems);
    if (problems.length > 0) throw new ConfigError("what it names", problems);
    router = new ModelRouter(
      config.models,
      providers.providers,
      providers.passthrough,
      config.router,
      logger,
    );
  } catch (error) {
    await pools.abandon(plan);
    await Promise.all(
      demoUpstreams.startedBeside(running?.demoUpstreams).map((upstream) => upstream.close()),
    );
    throw error;
  }
  const { server } = config;
  const limits = { maxRequestBytes: server.max_request_bytes };
  const access = new AccessControl(
    new CallerKeys(config.keys),
    parts.store,
    config.store.redis?.when_unreachable ?? "open",
    parts.accessReports,
  );
  const calls = new GenerationCalls({
    router,
    access,
    answers: new SharedAnswers(router, parts.cache),
    metrics,
    observer,
    shedder,
    limits,
    defaultDeadlineMs: server.default_deadline,
  });
  const { workers } = parts;
  const service = createGatewayService({ router, pools, calls, startedAt, access, workers });
  const admin = new AdminAccess(access, server.protect_admin);
  const rpc = createRpcHandler({
    service,
    calls,
    admin,
    observer,
    health,
    maxRequestBytes: server.max_request_bytes,
  });
  const requests = new RequestsInFlight();
  const handler = withHeaderLimit(
    withCors(
      withEarlyRefusal(
        withHttpRoutes(rpc, {
          metrics: workers ? { exposition: () => summedExposition(workers) } : metrics,
          admin,
          openai: createOpenAIApi({ router, calls, observer, limits }),
          notReady: parts.notReady,
        }),
        { shedder, observer },
      ),
      { allowedOrigins: server.cors.allowed_origins },
    ),
    parts.maxHeaderBytes,
  );
  return {
    config,
    handler: requests.counting(handler),
    requests,
    providers,
    router,
    demoUpstreams,
    pools: plan,
  };
}
