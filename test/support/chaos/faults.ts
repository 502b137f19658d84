import fc from "fast-check";
import type { ChaosWire } from "./chaos-body.js";
import type { ChaosTransport } from "./chaos-upstream.js";
import {
  ANTHROPIC_ERROR_TYPES,
  ERROR_STATUSES,
  type Fault,
  HUGE_EVENT_MEGABYTES,
  OPENAI_ERROR_TYPES,
  type Payload,
} from "./fault.js";

/** One RPC of a chaos case: which upstream, which method, what the upstream does, what the caller does. */
export interface ChaosCase {
  wire: ChaosWire;
  transport: ChaosTransport;
  method: "generate" | "generateStream";
  fault: Fault;
  /** The caller's deadline, ms after the call starts. */
  deadlineMs: number;
  /** The caller cancels this many ms after the call starts (before its deadline); absent: it does not. */
  cancelAfterMs?: number;
}

/** Longest deadline: every case ends within it, which bounds a batch's duration. */
export const MAX_DEADLINE_MS = 1_500;

const afterEvents = fc.integer({ min: 0, max: 8 });

const payload: fc.Arbitrary<Payload> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: "answer" as const }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("error-event" as const),
      type: fc.constantFrom(...ANTHROPIC_ERROR_TYPES, ...OPENAI_ERROR_TYPES),
      afterEvents,
      openrouter: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record(
      {
        kind: fc.constant("http-error" as const),
        status: fc.constantFrom(...ERROR_STATUSES),
        retryAfterMs: fc.integer({ min: 0, max: 50 }),
      },
      { requiredKeys: ["kind", "status"] },
    ),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("invalid-json" as const), afterEvents }) },
  { weight: 2, arbitrary: fc.constant({ kind: "invalid-utf8" as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("unknown-event" as const), afterEvents }) },
  // The 10 MB line of the issue; smaller sizes shrink toward what still fails.
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("huge-event" as const),
      megabytes: fc.constantFrom(...HUGE_EVENT_MEGABYTES),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: "pings-forever" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "empty" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "wrong-content-type" as const }) },
);

/** Whole events, a few bytes, down to one byte per write. */
const chunkBytes = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 8 }) },
  { weight: 2, arbitrary: fc.integer({ min: 9, max: 4_096 }) },
);

/** Pieces with no pause or a short one, or the slow drip: one byte per 100 ms. */
const pacing = fc.oneof(
  { weight: 8, arbitrary: fc.record({ chunkBytes, gapMs: fc.constant(0) }) },
  { weight: 2, arbitrary: fc.record({ chunkBytes, gapMs: fc.integer({ min: 1, max: 20 }) }) },
  { weight: 1, arbitrary: fc.constant({ chunkBytes: 1, gapMs: 100 }) },
);

/** Where the body stops: often nowhere, at times right after the status line (then silence or a reset), else anywhere. */
const cutAt = fc.oneof(
  { weight: 9, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 3_000 }) },
);

export const faultArbitrary: fc.Arbitrary<Fault> = fc
  .record({
    head: fc.oneof(
      { weight: 12, arbitrary: fc.constant("respond" as const) },
      { weight: 1, arbitrary: fc.constantFrom("hang" as const, "reset" as const, "goaway" as const) },
    ),
    payload,
    pacing,
    cutAt,
    tail: fc.oneof(
      { weight: 6, arbitrary: fc.constant("end" as const) },
      { weight: 1, arbitrary: fc.constantFrom("reset" as const, "silence" as const) },
    ),
  })
  .map(({ pacing, cutAt, ...rest }) => ({ ...rest, ...pacing, ...(cutAt === undefined ? {} : { cutAt }) }));

export const caseArbitrary: fc.Arbitrary<ChaosCase> = fc
  .record({
    wire: fc.constantFrom("openai" as const, "anthropic" as const),
    transport: fc.constantFrom("h2" as const, "h1" as const),
    method: fc.constantFrom("generateStream" as const, "generate" as const),
    fault: faultArbitrary,
    deadlineMs: fc.integer({ min: 150, max: MAX_DEADLINE_MS }),
    cancelAt: fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
    ),
  })
  // A cancel lands at a random point before the deadline.
  .map(({ cancelAt, ...rest }) =>
    cancelAt === undefined ? rest : { ...rest, cancelAfterMs: Math.floor(cancelAt * rest.deadlineMs) },
  );

/** The cases one batch runs at once: concurrent RPCs share the gateway's pools (and GOAWAYs hit several). */
export function batchArbitrary(maxCases: number): fc.Arbitrary<ChaosCase[]> {
  return fc.array(caseArbitrary, { minLength: 1, maxLength: maxCases, size: "max" });
}
