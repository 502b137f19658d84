import type { CallPlan } from "../../test/support/chaos/chaos-client.js";
import {
  ANTHROPIC_ERROR_TYPES,
  ERROR_STATUSES,
  type Fault,
  NO_FAULT,
  OPENAI_ERROR_TYPES,
  type Payload,
} from "../../test/support/chaos/fault.js";

/**
 * What the soak sends: mostly normal unary and streaming calls, plus cancelled calls, calls with
 * short deadlines and calls that meet an upstream fault, drawn from a seeded generator so that a
 * run can be repeated.
 */

export type CallKind = "unary" | "stream" | "cancelled" | "short-deadline" | "fault";
export const CALL_KINDS: readonly CallKind[] = ["unary", "stream", "cancelled", "short-deadline", "fault"];
export type ProviderName = "openai" | "anthropic";

/** Shares of the mix, out of 100. */
const WEIGHTS: Record<CallKind, number> = {
  unary: 32,
  stream: 32,
  cancelled: 12,
  "short-deadline": 8,
  fault: 16,
};
/** Model asked for by normal calls: no plan, so the chaos upstream answers normally. */
export const NORMAL_CASE = "soak-normal";
const NORMAL_DEADLINE_MS = 10_000;

export interface PlannedCall {
  kind: CallKind;
  provider: ProviderName;
  /** The call but its model: `<provider>/soak-normal`, or a case id the fault is planned under. */
  call: Omit<CallPlan, "model">;
  /** How the upstream must answer; absent: normally. */
  fault?: Fault;
}

export class CallMix {
  private readonly random: () => number;

  /** `kinds` narrows the mix (to find which kind of call a failure needs); the shares of the rest stay. */
  constructor(
    seed: number,
    private readonly kinds: readonly CallKind[] = CALL_KINDS,
  ) {
    this.random = mulberry32(seed);
  }

  /** The next call of the run: its kind, provider, deadline, cancel point and fault. */
  next(): PlannedCall {
    const kind = this.pickKind();
    const provider: ProviderName = this.random() < 0.5 ? "openai" : "anthropic";
    const method = this.random() < 0.5 ? "generate" : "generateStream";
    const planned = (fault: Fault, call: Omit<CallPlan, "model" | "method">): PlannedCall => ({
      kind,
      provider,
      fault,
      call: { method, ...call },
    });
    switch (kind) {
      case "unary":
        return { kind, provider, call: { method: "generate", deadlineMs: NORMAL_DEADLINE_MS } };
      case "stream":
        return { kind, provider, call: { method: "generateStream", deadlineMs: NORMAL_DEADLINE_MS } };
      case "cancelled":
        // A slowly written answer, so that the cancel lands before, during or after the body.
        return planned(this.slowAnswer(), { deadlineMs: NORMAL_DEADLINE_MS, cancelAfterMs: this.int(400) });
      case "short-deadline":
        return planned(this.slowAnswer(), { deadlineMs: 1 + this.int(300) });
      case "fault":
        // Long enough for a retry or two; faults that never end are cut here.
        return planned(this.fault(provider), { deadlineMs: 1_000 + this.int(3_000) });
    }
  }

  private pickKind(): CallKind {
    let roll = this.random() * this.kinds.reduce((sum, kind) => sum + WEIGHTS[kind], 0);
    for (const kind of this.kinds) {
      roll -= WEIGHTS[kind];
      if (roll < 0) return kind;
    }
    return this.kinds[0] ?? "unary";
  }

  private slowAnswer(): Fault {
    return { ...NO_FAULT, chunkBytes: 16 + this.int(48), gapMs: 5 + this.int(20) };
  }

  /** One fault of the kinds a provider shows in the wild, with its details drawn at random. */
  private fault(provider: ProviderName): Fault {
    const base: Fault = { ...NO_FAULT, chunkBytes: this.random() < 0.3 ? 1 + this.int(16) : 0 };
    const withPayload = (payload: Payload): Fault => ({ ...base, payload });
    const types = provider === "anthropic" ? ANTHROPIC_ERROR_TYPES : OPENAI_ERROR_TYPES;
    const menu: [weight: number, make: () => Fault][] = [
      [20, () => withPayload({ kind: "http-error", status: this.pick(ERROR_STATUSES) })],
      [
        20,
        () =>
          withPayload({
            kind: "error-event",
            type: this.pick(types),
            afterEvents: this.int(6),
            openrouter: this.random() < 0.5,
          }),
      ],
      [10, () => ({ ...base, head: "reset" })],
      [3, () => ({ ...base, head: "goaway" })],
      [12, () => ({ ...base, cutAt: 1 + this.int(400), tail: this.random() < 0.5 ? "end" : "reset" })],
      [6, () => ({ ...base, tail: "reset" })],
      [5, () => withPayload({ kind: "invalid-json", afterEvents: this.int(4) })],
      [4, () => withPayload({ kind: "invalid-utf8" })],
      [4, () => withPayload({ kind: "unknown-event", afterEvents: this.int(4) })],
      [4, () => withPayload({ kind: "empty" })],
      [4, () => withPayload({ kind: "wrong-content-type" })],
      [3, () => ({ ...base, head: "hang" })],
      [2, () => withPayload({ kind: "pings-forever" })],
      [2, () => ({ ...base, tail: "silence" })],
      [1, () => withPayload({ kind: "huge-event", megabytes: 1 })],
    ];
    let roll = this.random() * menu.reduce((sum, [weight]) => sum + weight, 0);
    for (const [weight, make] of menu) {
      roll -= weight;
      if (roll < 0) return make();
    }
    return base;
  }

  private int(below: number): number {
    return Math.floor(this.random() * below);
  }

  private pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)] as T;
  }
}

/** A small seeded generator (mulberry32): the same seed gives the same run. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
