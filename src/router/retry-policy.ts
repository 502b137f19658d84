import { GatewayError } from "../errors/gateway-error.js";
import { type Clock, systemClock } from "./clock.js";

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/** Exponential backoff with full jitter before retry number `retry` (1 for the first retry). */
export function backoffMs(retry: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (retry - 1));
  return random() * ceiling;
}

/**
 * Whether another attempt may help and is safe: the provider layer classified the failure, and a
 * request that had reached the upstream is never sent twice.
 */
export function isRetryable(error: unknown): error is GatewayError {
  return error instanceof GatewayError && error.retryable && !error.delivered;
}

/**
 * A provider's API has no place for a field of the request (UNSUPPORTED_FIELD): nothing was sent,
 * and the deployment is not at fault, so another provider's deployment of the model may serve it.
 */
export function refusedByProvider(error: unknown): boolean {
  return error instanceof GatewayError && error.reason === "UNSUPPORTED_FIELD";
}

/** Waits `ms` on `clock`, or rejects as soon as the caller's signal aborts. */
export function sleep(ms: number, signal: AbortSignal, clock: Clock = systemClock): Promise<void> {
  // An abort event fires once: a signal aborted already would never wake the wait.
  if (signal.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      cancel();
      reject(signal.reason);
    };
    const cancel = clock.setTimer(ms, () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
