import type { Logger } from "../log/logger.js";
import { throttledWarning } from "../log/throttled-warning.js";
import type { GatewayMetrics } from "../metrics/gateway-metrics.js";
import type { CacheReports } from "./response-cache.js";

/** The cache's lookups, stores and coalesced calls as metrics; its store's failures as a metric and a throttled warning. */
export function cacheReports(
  logger: Logger,
  metrics: GatewayMetrics,
  now: () => number = Date.now,
): CacheReports {
  const warn = throttledWarning(logger, now);
  return {
    looked: (model, result) => metrics.cacheLookups.inc({ model, result }),
    stored: (model, bytes) => metrics.cacheStoredBytes.inc({ model }, bytes),
    coalesced: (model) => metrics.cacheCoalesced.inc({ model }),
    failed(operation, error) {
      metrics.storeErrors.inc({ operation: `cache_${operation}` });
      warn(operation, { operation, err: error }, "the response cache's store failed: calls go on uncached");
    },
  };
}
