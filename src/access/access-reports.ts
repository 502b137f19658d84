import type { Logger } from "../log/logger.js";
import type { GatewayMetrics } from "../metrics/gateway-metrics.js";
import type { AccessReports } from "./access-control.js";

/** One warning per operation per this long while the store keeps failing: every call would log one. */
const WARNING_INTERVAL_MS = 10_000;

/** Store failures as a metric and a warning (at most one per operation per interval), refusals as a metric. */
export function accessReports(
  logger: Logger,
  metrics: GatewayMetrics,
  now: () => number = Date.now,
): AccessReports {
  const warnedAt = new Map<string, number>();
  const failedSince = new Map<string, number>();
  return {
    storeFailed(operation, error) {
      metrics.storeErrors.inc({ operation });
      failedSince.set(operation, (failedSince.get(operation) ?? 0) + 1);
      const last = warnedAt.get(operation);
      if (last !== undefined && now() - last < WARNING_INTERVAL_MS) return;
      warnedAt.set(operation, now());
      const failures = failedSince.get(operation);
      failedSince.set(operation, 0);
      logger.warn(
        { operation, failures, err: error },
        "the shared store failed (weaver_store_errors_total counts every failure)",
      );
    },
    quotaRefused(keyName, limit) {
      metrics.quotaRefusals.inc({ key: keyName, limit });
    },
  };
}
