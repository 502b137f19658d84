import { randomUUID } from "node:crypto";
import { GatewayError } from "../errors/gateway-error.js";
import type { CounterCheck, SlotTake, TakeResult } from "../store/shared-store.js";
import type { CallerKey } from "./caller-keys.js";
import type { QuotaWindows } from "./quota-windows.js";

/** Costs are counted in nano-USD: integers add exactly in every store. */
export const NANO_USD = 1e9;

type QuotaKind = "requests" | "tokens" | "budget";

/** What one call must find room for in its key's quotas, as store checks and a slot. */
export interface QuotaPlan {
  key: CallerKey | undefined;
  windows: QuotaWindows;
  checks: CounterCheck[];
  /** What each check counts, in the same order. */
  kinds: QuotaKind[];
  slot: SlotTake | undefined;
}

/** The counters a key's quotas live in: one per key and window, named alike on every replica. */
export const quotaCounters = {
  requests: (name: string, w: QuotaWindows) => `rpm:${name}:${w.minute}`,
  tokens: (name: string, w: QuotaWindows) => `tpm:${name}:${w.minute}`,
  spend: (name: string, per: "day" | "month", w: QuotaWindows) => `spend:${name}:${w[per]}`,
  calls: (name: string) => `calls:${name}`,
};

/**
 * A call takes one request of its minute and a concurrency slot; tokens and spend are added when
 * it ends, so a call is let in while any are left (a call may take its key past them by its own).
 */
export function quotaPlan(key: CallerKey | undefined, windows: QuotaWindows, holdUntil: number): QuotaPlan {
  const plan: QuotaPlan = { key, windows, checks: [], kinds: [], slot: undefined };
  if (key === undefined) return plan;
  const { name, limits } = key;
  const check = (kind: QuotaKind, counter: string, limit: number, add: number, ttlMs: number) => {
    plan.checks.push({ counter, limit, need: 1, add, ttlMs });
    plan.kinds.push(kind);
  };
  if (limits.requests_per_minute !== undefined)
    check(
      "requests",
      quotaCounters.requests(name, windows),
      limits.requests_per_minute,
      1,
      windows.untilMinuteEnd,
    );
  if (limits.tokens_per_minute !== undefined)
    check("tokens", quotaCounters.tokens(name, windows), limits.tokens_per_minute, 0, windows.untilMinuteEnd);
  const budget = limits.budget_usd;
  if (budget !== undefined)
    check(
      "budget",
      quotaCounters.spend(name, budget.per, windows),
      budget.amount * NANO_USD,
      0,
      untilEnd(budget.per, windows),
    );
  if (limits.concurrent !== undefined)
    // Named only when a slot is taken: most calls hold none.
    plan.slot = {
      set: quotaCounters.calls(name),
      holder: randomUUID(),
      limit: limits.concurrent,
      until: holdUntil,
    };
  return plan;
}

export function untilEnd(per: "day" | "month", windows: QuotaWindows): number {
  return per === "day" ? windows.untilDayEnd : windows.untilMonthEnd;
}

/**
 * Where the key stands, in the headers OpenAI's API sends (`x-ratelimit-limit-requests`,
 * `x-ratelimit-remaining-requests`, `x-ratelimit-reset-requests`, and the same for tokens), and
 * the gateway's own for concurrent calls and the budget.
 */
export function standingHeaders(plan: QuotaPlan, taken: TakeResult): Record<string, string> {
  const headers: Record<string, string> = {};
  plan.checks.forEach((check, i) => {
    const remaining = Math.max(0, check.limit - (taken.values[i] ?? 0));
    const kind = plan.kinds[i] as QuotaKind;
    if (kind === "budget") {
      headers["x-ratelimit-limit-budget-usd"] = String(check.limit / NANO_USD);
      headers["x-ratelimit-remaining-budget-usd"] = (remaining / NANO_USD).toFixed(6);
      headers["x-ratelimit-reset-budget"] = `${Math.ceil(check.ttlMs / 1000)}s`;
      return;
    }
    headers[`x-ratelimit-limit-${kind}`] = String(check.limit);
    headers[`x-ratelimit-remaining-${kind}`] = String(remaining);
    headers[`x-ratelimit-reset-${kind}`] = `${Math.ceil(check.ttlMs / 1000)}s`;
  });
  if (plan.slot !== undefined) {
    headers["x-ratelimit-limit-concurrent"] = String(plan.slot.limit);
    headers["x-ratelimit-remaining-concurrent"] = String(Math.max(0, plan.slot.limit - taken.slotsHeld));
  }
  return headers;
}

/** How long a caller refused for concurrency is asked to wait: calls end at no time anyone knows. */
const CONCURRENT_RETRY_MS = 1000;

/** RESOURCE_EXHAUSTED for the first quota without room, saying when it would pass, and which limit it was. */
export function quotaRefusal(
  key: CallerKey,
  plan: QuotaPlan,
  taken: TakeResult,
): { error: GatewayError; limit: QuotaKind | "concurrent" } {
  const headers = standingHeaders(plan, taken);
  const refuse = (
    limit: QuotaKind | "concurrent",
    message: string,
    reason: string,
    retryAfterMs: number,
  ) => ({
    limit,
    error: new GatewayError("resource_exhausted", `key "${key.name}" ${message}`, {
      reason,
      retryAfterMs,
      headers,
    }),
  });
  if (taken.failed === "slot" || taken.failed === undefined)
    return refuse(
      "concurrent",
      `has ${plan.slot?.limit} calls running, its limit`,
      "KEY_CONCURRENT_LIMIT",
      CONCURRENT_RETRY_MS,
    );
  const check = plan.checks[taken.failed] as CounterCheck;
  const kind = plan.kinds[taken.failed] as QuotaKind;
  switch (kind) {
    case "requests":
      return refuse(
        kind,
        `made its ${check.limit} requests this minute`,
        "KEY_REQUESTS_PER_MINUTE",
        check.ttlMs,
      );
    case "tokens":
      return refuse(kind, `used its ${check.limit} tokens this minute`, "KEY_TOKENS_PER_MINUTE", check.ttlMs);
    default: {
      const per = key.limits.budget_usd?.per ?? "month";
      return refuse(
        kind,
        `spent its budget of $${check.limit / NANO_USD} this ${per}`,
        "KEY_BUDGET",
        check.ttlMs,
      );
    }
  }
}
