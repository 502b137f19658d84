import { statusOfErrorType } from "./chaos-body.js";
import type { CallOutcome } from "./chaos-client.js";
import type { CaseTimeline } from "./chaos-upstream.js";
import type { ChaosCase } from "./faults.js";

/** The codes README's error table allows (and OK); UNKNOWN is never one of them. */
const TABLE_CODES = new Set([
  "OK",
  "INVALID_ARGUMENT",
  "RESOURCE_EXHAUSTED",
  "NOT_FOUND",
  "UNAUTHENTICATED",
  "PERMISSION_DENIED",
  "INTERNAL",
  "UNAVAILABLE",
  "DEADLINE_EXCEEDED",
  "CANCELLED",
]);

/** README's table: an upstream HTTP status (or the status an error type stands for) as a gRPC code. */
const CODE_OF_STATUS: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  402: "PERMISSION_DENIED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  408: "DEADLINE_EXCEEDED",
  413: "INVALID_ARGUMENT",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  502: "UNAVAILABLE",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
  529: "UNAVAILABLE",
};

/** How late an RPC may end after its deadline (or its caller's cancel). */
export const END_SLACK_MS = 100;
/** How long after the caller gave up its upstream request may still be open ("reset at once", with a loaded machine's slack). */
export const RESET_WITHIN_MS = 1_000;
/** A request the upstream receives this long after the caller gave up was sent after it gave up. */
const SENT_AFTER_GIVING_UP_MS = 250;

/** A stack frame, or a path of this machine: neither belongs in a message to a caller. */
const STACK_OR_PATH = /\n\s+at |\bat .+\.[cm]?[jt]s:\d+|\/(work|home|tmp|usr|root)\/|node:internal|file:\/\//;

/** When the caller stopped waiting: its cancel, or its deadline when the RPC ended by it. */
export function gaveUpAt(c: ChaosCase, outcome: CallOutcome): number | undefined {
  if (outcome.cancelledAt !== undefined) return outcome.cancelledAt;
  if (outcome.code === "DEADLINE_EXCEEDED") return outcome.startedAt + c.deadlineMs;
  return undefined;
}

/** Every property of one RPC; each broken one as a sentence. */
export function checkCase(
  c: ChaosCase,
  outcome: CallOutcome,
  timeline: CaseTimeline,
  secrets: readonly string[],
): string[] {
  const broken: string[] = [];
  if (!TABLE_CODES.has(outcome.code)) broken.push(`ended ${outcome.code}, a code not in README's table`);
  if (STACK_OR_PATH.test(outcome.details))
    broken.push(`a stack trace or path in the message: ${outcome.details}`);
  if (secrets.some((secret) => outcome.details.includes(secret))) broken.push("a key in the message");
  if (outcome.code === "INTERNAL" && outcome.details === "internal error")
    broken.push("an unexpected error reached the caller as INTERNAL 'internal error'");
  const limit = Math.min(c.deadlineMs, c.cancelAfterMs ?? Number.POSITIVE_INFINITY) + END_SLACK_MS;
  const took = outcome.endedAt - outcome.startedAt;
  if (took > limit)
    broken.push(`ended after ${took.toFixed(0)} ms, past its deadline or cancel + ${END_SLACK_MS} ms`);
  if (timeline.doubleSends > 0)
    broken.push(`sent ${timeline.doubleSends} more time(s) after it had reached the upstream`);
  const gaveUp = gaveUpAt(c, outcome);
  const late = timeline.exchanges.filter(
    (e) => gaveUp !== undefined && e.receivedAt > gaveUp + SENT_AFTER_GIVING_UP_MS,
  );
  if (late.length > 0) broken.push(`${late.length} request(s) reached the upstream after the caller gave up`);
  const slowest = Math.max(0, ...resetDelays(c, outcome, timeline));
  if (slowest > RESET_WITHIN_MS)
    broken.push(`its upstream request stayed open ${slowest.toFixed(0)} ms after the caller gave up`);
  const expected = expectedOutcome(c, outcome);
  if (expected && outcome.code !== expected.code && !expected.also.includes(outcome.code))
    broken.push(
      `expected ${expected.code} (or ${expected.also.join(", ")}), got ${outcome.code}: ${outcome.details}`,
    );
  else if (expected?.naming && outcome.code === expected.code && !outcome.details.includes(expected.naming))
    broken.push(`${outcome.code} without naming ${expected.naming}: ${outcome.details}`);
  return broken;
}

/**
 * The outcome README promises for the faults whose result does not depend on timing: an error
 * status, an error event before the stream's end, an oversized event line. A case that cancels,
 * cuts, drips or breaks the connection has no such promise beyond the table.
 */
export function expectedOutcome(
  c: ChaosCase,
  outcome: CallOutcome,
): { code: string; also: string[]; naming?: string } | undefined {
  const f = c.fault;
  const clean = f.head === "respond" && c.cancelAfterMs === undefined && f.gapMs === 0;
  if (!clean) return undefined;
  // A caller's deadline may still come first on a loaded machine. A reset right after the last
  // piece may overtake it: what the upstream wrote just before destroying its socket may never be
  // sent, and a body that fails drops what it had buffered. A clean case sends no GOAWAY, but a
  // neighbour's may refuse its last attempt (a first try, or a retry after a retryable answer).
  const refused = outcome.code === "UNAVAILABLE" && outcome.details.includes("(GOAWAY)");
  const also = ["DEADLINE_EXCEEDED", ...(f.tail === "reset" || refused ? ["UNAVAILABLE"] : [])];
  const p = f.payload;
  // An error body is read to its end before it is classified.
  const wholeBody = f.cutAt === undefined && f.tail === "end";
  if (p.kind === "http-error" && wholeBody) {
    const code = CODE_OF_STATUS[p.status];
    return code ? { code, also } : undefined;
  }
  if (p.kind === "error-event") {
    const seen = c.method === "generate" ? wholeBody : f.cutAt === undefined && p.afterEvents <= 2;
    if (!seen) return undefined;
    const code = CODE_OF_STATUS[statusOfErrorType(p.type)] ?? "INTERNAL";
    return c.method === "generateStream" ? { code, also, naming: p.type } : { code, also };
  }
  // Over the gateway's bound on an event (8 MiB): the RPC ends UNAVAILABLE instead of holding it.
  if (p.kind === "huge-event" && p.megabytes >= 10 && c.method === "generateStream" && f.cutAt === undefined)
    return { code: "UNAVAILABLE", also };
  return undefined;
}

/**
 * From the caller's giving up to the upstream request's end, per request still open then (and
 * not a finished answer left open, which the gateway may read to its end for 5 s).
 */
export function resetDelays(c: ChaosCase, outcome: CallOutcome, timeline: CaseTimeline): number[] {
  const gaveUp = gaveUpAt(c, outcome);
  if (gaveUp === undefined) return [];
  return timeline.exchanges
    .filter((e) => e.closedAt !== undefined && e.closedAt >= gaveUp && e.silentAfterBodyAt === undefined)
    .map((e) => (e.closedAt as number) - Math.max(gaveUp, e.receivedAt));
}
