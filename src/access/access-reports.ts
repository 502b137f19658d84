import type { Logger } from "../log/logger.js";
import { throttledWarning } from "../log/throttled-warning.js";
import type { GatewayMetrics } from "../metrics/gateway-metrics.js";
import type { AccessReports } from "./access-control.js";

/** Store failures as a metric and a throttled warning, refusals as a metric. */
export function accessReports(
  logger: Logger,
  metrics: GatewayMetrics,
  now: () => number = Date.now,
): AccessReports {
  const warn = throttledWarning(logger, now);
  return {
    storeFailed(operation, error) {
      metrics.storeErrors.inc({ operation });
      warn(
        operation,
        { operation, err: error },
        "the shared store failed (weaver_store_errors_total counts every failure)",
      );
    },
    quotaRefused(keyName, limit) {
      metrics.quotaRefusals.inc({ key: keyName, limit });
    },
  };
}
