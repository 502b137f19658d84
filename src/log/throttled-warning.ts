import type { Logger } from "./logger.js";

/** One warning per topic per this long: a failing dependency would otherwise log once per call. */
const WARNING_INTERVAL_MS = 10_000;

/**
 * A warning for something that fails on every call while it lasts (Redis gone): logged at most once
 * per topic per 10 s, with how many failures it stands for; the metrics count every one.
 */
export function throttledWarning(logger: Logger, now: () => number = Date.now) {
  const warnedAt = new Map<string, number>();
  const since = new Map<string, number>();
  return (topic: string, fields: Record<string, unknown>, message: string): void => {
    const failures = (since.get(topic) ?? 0) + 1;
    since.set(topic, failures);
    const last = warnedAt.get(topic);
    if (last !== undefined && now() - last < WARNING_INTERVAL_MS) return;
    warnedAt.set(topic, now());
    since.set(topic, 0);
    logger.warn({ ...fields, failures }, message);
  };
}
