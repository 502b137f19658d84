import { GatewayError } from "../errors/gateway-error.js";
import type { TokenUsage } from "../providers/provider.js";
import type { SharedStore, TakeResult } from "../store/shared-store.js";
import type { CallerKey, CallerKeys } from "./caller-keys.js";
import type { Cost } from "./prices.js";
import { type QuotaPlan, quotaPlan, quotaRefusal, standingHeaders } from "./quota-plan.js";
import { windowsAt } from "./quota-windows.js";
import { type UsageQuery, type UsageRow, usageRecord, usageRows, usageTables } from "./usage-rows.js";

/** What access control tells the operator: failures of the store, and calls refused for a quota. Never a key. */
export interface AccessReports {
  storeFailed(operation: "admit" | "settle" | "usage", error: unknown): void;
  quotaRefused(keyName: string, limit: string): void;
}

/** How a call ended, for its key's quotas and the usage ledger. */
export interface CallEnd {
  /** The model's name as usage reports it (a passthrough model's, as the caller named it). */
  model: string;
  usage: TokenUsage;
  cost: Cost;
  /** The tokens were estimated: the call ended before the provider reported them. */
  estimated: boolean;
}

/** A call let in: its key, what its caller is told of its limits, and how it is counted at its end. */
export interface CallPass {
  /** Undefined on an open gateway. */
  key: CallerKey | undefined;
  /** `x-ratelimit-*` headers: where the key stands after this call was let in. */
  headers: Record<string, string>;
  /** Counts the call's tokens and cost and frees its concurrency slot; never rejects. */
  settle(end: CallEnd): Promise<void>;
}

/**
 * Who may call what, and how much: a call's key is authenticated, its model checked against the
 * key's patterns, its quotas taken in the shared store (all or nothing), and at its end its usage
 * and cost are recorded there, with or without keys.
 */
export class AccessControl {
  constructor(
    private readonly keys: CallerKeys,
    private readonly store: SharedStore,
    /** While the store cannot be reached, `open` serves calls without quotas, `closed` refuses them UNAVAILABLE. */
    private readonly whenUnreachable: "open" | "closed",
    private readonly reports: AccessReports,
    private readonly now: () => number = Date.now,
  ) {}

  /** The presented key, or UNAUTHENTICATED; undefined on an open gateway. */
  authenticate(presented: string | undefined): CallerKey | undefined {
    return this.keys.authenticate(presented);
  }

  /** PERMISSION_DENIED unless the key may call the model by one of its names (the one called first). */
  authorize(key: CallerKey | undefined, names: readonly string[]): void {
    if (key?.models === undefined || key.models.allows(names)) return;
    const allowed = key.models.globs.join(", ") || "none";
    throw new GatewayError(
      "permission_denied",
      `key "${key.name}" may not call model "${names[0]}" (it may call: ${allowed})`,
      { reason: "MODEL_NOT_ALLOWED" },
    );
  }

  /**
   * Takes the key's quotas for one call, or refuses it RESOURCE_EXHAUSTED with when it would pass.
   * A concurrency slot not given back (a replica that died) frees itself at `holdUntil` (epoch ms).
   */
  async admit(key: CallerKey | undefined, holdUntil: number): Promise<CallPass> {
    const now = this.now();
    const plan = quotaPlan(key, windowsAt(now), holdUntil);
    const taken = await this.take(plan, now);
    if (taken !== undefined && !taken.taken) {
      const refusal = quotaRefusal(key as CallerKey, plan, taken);
      this.reports.quotaRefused((key as CallerKey).name, refusal.limit);
      throw refusal.error;
    }
    const holding = taken?.taken === true ? plan.slot : undefined;
    let settled = false;
    return {
      key,
      headers: taken === undefined ? {} : standingHeaders(plan, taken),
      settle: async (end) => {
        if (settled) return;
        settled = true;
        await this.settle(key, end, holding);
      },
    };
  }

  /** Usage per key, model and day, from the store; `keys` undefined: every key's. */
  async usage(query: UsageQuery): Promise<UsageRow[]> {
    try {
      return usageRows(await this.store.rows(usageTables(query)), query);
    } catch (error) {
      this.reports.storeFailed("usage", error);
      throw new GatewayError("unavailable", "usage cannot be read: the store is unreachable", {
        reason: "STORE_UNREACHABLE",
        retryable: true,
        cause: error,
      });
    }
  }

  /** The take, or undefined when there is nothing to take, or the store failed and calls go on without it. */
  private async take(plan: QuotaPlan, now: number): Promise<TakeResult | undefined> {
    if (plan.checks.length === 0 && plan.slot === undefined) return undefined;
    try {
      return await this.store.take({ checks: plan.checks, slot: plan.slot, now });
    } catch (error) {
      this.reports.storeFailed("admit", error);
      if (this.whenUnreachable === "open") return undefined;
      throw new GatewayError("unavailable", "quotas cannot be checked: the store is unreachable", {
        reason: "STORE_UNREACHABLE",
        retryable: true,
        cause: error,
      });
    }
  }

  private async settle(key: CallerKey | undefined, end: CallEnd, holding: QuotaPlan["slot"]): Promise<void> {
    try {
      await this.store.add(usageRecord(key, end, windowsAt(this.now()), holding));
    } catch (error) {
      this.reports.storeFailed("settle", error);
    }
  }
}
