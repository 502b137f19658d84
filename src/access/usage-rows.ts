import type { AddRequest, SlotTake, StoredRow } from "../store/shared-store.js";
import type { CallEnd } from "./access-control.js";
import type { CallerKey } from "./caller-keys.js";
import { NANO_USD, quotaCounters, untilEnd } from "./quota-plan.js";
import { daysBetween, type QuotaWindows } from "./quota-windows.js";

/** Usage is kept per key, model and UTC day, for this long. */
const USAGE_RETENTION_MS = 400 * 86_400_000;
/** The most days one usage query reads. */
export const MAX_USAGE_DAYS = 366;

/** One key's use of one model on one day. */
export interface UsageRow {
  day: string;
  /** "" for calls made without a key (an open gateway). */
  key: string;
  model: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  costUsd: number;
  /** Calls whose tokens were estimated: they ended before the provider reported any. */
  estimatedRequests: number;
  /** Calls of a model with no known price, counted at cost 0. */
  unpricedRequests: number;
}

export interface UsageQuery {
  /** "YYYY-MM-DD", inclusive, UTC. */
  from: string;
  to: string;
  /** Only these keys' rows; undefined: every key's. */
  keys?: readonly string[] | undefined;
}

const table = (day: string) => `usage:${day}`;

/** What a call's end adds: its usage row, its key's tokens and spend, and its slot given back. */
export function usageRecord(
  key: CallerKey | undefined,
  { model, usage, cost, estimated }: CallEnd,
  windows: QuotaWindows,
  holding: SlotTake | undefined,
): AddRequest {
  const nanoUsd = Math.round(cost.usd * NANO_USD);
  const counters: AddRequest["counters"][number][] = [];
  const limits = key?.limits;
  if (key !== undefined && limits?.tokens_per_minute !== undefined)
    counters.push({
      counter: quotaCounters.tokens(key.name, windows),
      by: usage.inputTokens + usage.outputTokens,
      ttlMs: windows.untilMinuteEnd,
    });
  if (key !== undefined && limits?.budget_usd !== undefined) {
    const { per } = limits.budget_usd;
    counters.push({
      counter: quotaCounters.spend(key.name, per, windows),
      by: nanoUsd,
      ttlMs: untilEnd(per, windows),
    });
  }
  return {
    counters,
    row: {
      table: table(windows.day),
      // JSON: a passthrough model's name is the caller's, and may hold any character.
      row: JSON.stringify([key?.name ?? "", model]),
      totals: {
        requests: 1,
        input_tokens: usage.inputTokens,
        output_tokens: usage.outputTokens,
        cached_input_tokens: usage.cachedInputTokens ?? 0,
        cost_nano_usd: nanoUsd,
        estimated_requests: estimated ? 1 : 0,
        unpriced_requests: cost.priced ? 0 : 1,
      },
      ttlMs: USAGE_RETENTION_MS,
    },
    release: holding === undefined ? undefined : { set: holding.set, holder: holding.holder },
  };
}

/** The tables a query reads: one per day, the latest MAX_USAGE_DAYS of its range. */
export function usageTables({ from, to }: UsageQuery): string[] {
  return daysBetween(from, to, MAX_USAGE_DAYS).map(table);
}

/** The stored rows as usage, those of other keys left out, by day, key and model. */
export function usageRows(stored: readonly StoredRow[], { keys }: UsageQuery): UsageRow[] {
  const wanted = keys === undefined ? undefined : new Set(keys);
  const rows: UsageRow[] = [];
  for (const { table: name, row, totals } of stored) {
    const [key, model] = JSON.parse(row) as [string, string];
    if (wanted !== undefined && !wanted.has(key)) continue;
    const total = (field: string) => totals[field] ?? 0;
    rows.push({
      day: name.slice("usage:".length),
      key,
      model,
      requests: total("requests"),
      inputTokens: total("input_tokens"),
      outputTokens: total("output_tokens"),
      cachedInputTokens: total("cached_input_tokens"),
      costUsd: total("cost_nano_usd") / NANO_USD,
      estimatedRequests: total("estimated_requests"),
      unpricedRequests: total("unpriced_requests"),
    });
  }
  const order = (row: UsageRow) => `${row.day}\n${row.key}\n${row.model}`;
  return rows.sort((a, b) => order(a).localeCompare(order(b)));
}
