import {
  errorCodeName,
  type FloodOutcome,
  type HoldSummary,
  idleHttp2Connections,
  pingFlood,
  rapidReset,
  type SocketHold,
  settingsFlood,
  silentConnections,
  slowloris,
  type Target,
} from "../../test/support/h2-attacker/index.js";
import { num } from "../format.js";

/** The attacks `npm run flood` runs, each held for a window while the good caller keeps calling. */

export interface AttackResult {
  /** What the attacker got, in a table cell. */
  got: string;
  /** The attacker was stopped: a GOAWAY, or its connections closed by the gateway. */
  cutOff: boolean;
  /** Every GOAWAY code the attacker's connections received, last code of each. */
  goawayCodes: number[];
  data: unknown;
  /**
   * When the attack was in place (wall clock, ms), for attacks that hold connections: the good
   * caller is judged while they are held, not while they open, nor while the attacker drops them
   * all at once at the end (thousands of closes in one burst, here and in the gateway).
   */
  heldFrom?: number;
  heldTo?: number;
}

/** What the issue asks of the gateway under this attack. */
export type Bar =
  /** The attacker gets a GOAWAY and the good caller's p99 stays within 3× of before. */
  | "goaway-p99-3x"
  /** The attacker is cut off. */
  | "cut-off"
  /** The good caller does not notice: no failed call, p99 within 1.5×. */
  | "unchanged";

export interface Attack {
  name: string;
  title: string;
  bar: Bar;
  /** Runs until `until` (performance.now()), or longer if opening its connections takes longer. */
  run(target: Target, until: number): Promise<AttackResult>;
}

export interface AttackSizes {
  pairs: number;
  controlFrames: number;
  idle: number;
  slowloris: number;
}

export function attacks(sizes: AttackSizes): Attack[] {
  return [
    {
      name: "rapid-reset",
      title: `rapid reset: ${num(sizes.pairs)} HEADERS+RST_STREAM(CANCEL) pairs from one caller, reconnecting whenever cut off until all are sent`,
      bar: "goaway-p99-3x",
      run: (target, until) => pairsFrom(target, sizes.pairs, until),
    },
    {
      name: "rapid-reset-sustained",
      title: `rapid reset, sustained: ${num(sizes.pairs)} pairs per connection, a new connection after each, for the whole window`,
      bar: "cut-off",
      run: (target, until) =>
        floodUntil(until, () => rapidReset(target, { pairs: sizes.pairs, settleMs: 1_000 })),
    },
    {
      name: "ping-flood",
      title: `PING flood: ${num(sizes.controlFrames)} PINGs per connection, acks not read`,
      bar: "cut-off",
      run: (target, until) =>
        floodUntil(until, () => pingFlood(target, { frames: sizes.controlFrames, settleMs: 1_000 })),
    },
    {
      name: "settings-flood",
      title: `SETTINGS flood: ${num(sizes.controlFrames)} SETTINGS per connection, acks not read`,
      bar: "cut-off",
      run: (target, until) =>
        floodUntil(until, () => settingsFlood(target, { frames: sizes.controlFrames, settleMs: 1_000 })),
    },
    {
      name: "idle-h2",
      title: `${num(sizes.idle)} idle HTTP/2 connections: preface and SETTINGS, then nothing`,
      bar: "unchanged",
      run: (target, until) => holdUntil(until, idleHttp2Connections(target, sizes.idle)),
    },
    {
      name: "idle-tcp",
      title: `${num(sizes.idle)} silent TCP connections: not a byte`,
      bar: "unchanged",
      run: (target, until) => holdUntil(until, silentConnections(target, sizes.idle)),
    },
    {
      name: "slowloris",
      title: `slowloris: ${num(sizes.slowloris)} HTTP/1.1 sockets, a request line then a header byte every 2 s`,
      bar: "unchanged",
      run: (target, until) => holdUntil(until, slowloris(target, sizes.slowloris, { intervalMs: 2_000 })),
    },
  ];
}

/**
 * One caller's rapid-reset flood of `pairs` pairs in all: whenever a connection is cut off it opens
 * another and sends what is left, as an attacker would; then quiet until `until`.
 */
async function pairsFrom(target: Target, pairs: number, until: number): Promise<AttackResult> {
  const outcomes: FloodOutcome[] = [];
  let left = pairs;
  const startedAt = performance.now();
  while (left > 0) {
    const outcome = await rapidReset(target, { pairs: left, settleMs: 200 });
    outcomes.push(outcome);
    // A pair is a HEADERS and an RST_STREAM frame; the connection preface's frames are not pairs.
    left -= Math.max(1, Math.floor((outcome.framesSent - 3) / 2));
  }
  const floodMs = performance.now() - startedAt;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, until - performance.now())));
  const cut = outcomes.filter((o) => o.goaway !== undefined || o.serverEnd !== undefined);
  const first = outcomes[0];
  return {
    got: `${first ? describeFlood(first) : "nothing sent"}; ${num(pairs)} pairs over ${outcomes.length} connections in ${num(floodMs)} ms, ${cut.length} cut off`,
    cutOff: outcomes.length > 0 && cut.length >= outcomes.length - 1,
    goawayCodes: outcomes.flatMap((o) => (o.goaway ? [o.goaway.code] : [])),
    data: { outcomes, floodMs },
  };
}

/** Repeats a flood on fresh connections until `until`, as an attacker cut off would reconnect. */
async function floodUntil(until: number, flood: () => Promise<FloodOutcome>): Promise<AttackResult> {
  const outcomes: FloodOutcome[] = [];
  let refused = 0;
  let firstError: string | undefined;
  do {
    try {
      outcomes.push(await flood());
    } catch (error) {
      // The gateway refused or dropped the connection before its SETTINGS: count it, back off a little.
      refused++;
      firstError ??= error instanceof Error ? error.message : String(error);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } while (performance.now() < until);
  const cut = outcomes.filter((o) => o.goaway !== undefined || o.serverEnd !== undefined);
  const goawayCodes = outcomes.flatMap((o) => (o.goaway ? [o.goaway.code] : []));
  const first = outcomes[0];
  const parts = [first ? describeFlood(first) : `no connection (${firstError})`];
  parts.push(`${cut.length}/${outcomes.length} connections cut off`);
  if (refused > 0) parts.push(`${refused} refused before SETTINGS`);
  return {
    got: parts.join("; "),
    cutOff: outcomes.length > 0 && cut.length === outcomes.length,
    goawayCodes,
    data: { outcomes, refused, firstError },
  };
}

/** "GOAWAY ENHANCE_YOUR_CALM (0xb) at 45 ms, 2,203 frames sent, 1,000 streams taken; then FIN". */
export function describeFlood(o: FloodOutcome): string {
  const ended = o.serverEnd === undefined ? "" : `; then ${o.serverEnd}`;
  if (o.goaway === undefined) {
    if (o.serverEnd === undefined)
      return `not cut off: all ${num(o.framesSent)} frames sent in ${num(o.sendMs)} ms`;
    return `no GOAWAY read; connection ${o.serverEnd} at ${num(o.closedAfterMs ?? Number.NaN)} ms, ≤${num(o.framesSent)} frames sent`;
  }
  const g = o.goaway;
  const distinct = [...new Set(g.codes)];
  const codes =
    distinct.length > 1
      ? ` (GOAWAYs: ${g.codes.map((c) => errorCodeName(c)).join(", ")})`
      : g.codes.length > 1
        ? ` (${g.codes.length} GOAWAYs)`
        : "";
  const streams = o.attack === "rapid-reset" ? `, ${num((g.lastStreamId + 1) / 2)} streams taken` : "";
  return `GOAWAY ${g.codeName}${codes} at ${num(g.afterMs)} ms, ${num(g.framesSentBefore)} frames sent${streams}${ended}`;
}

/**
 * After the last one opened, the gateway is given this long to settle (the garbage of thousands of
 * connection setups is collected then), so the window judges connections held, not opened.
 */
const SETTLE_AFTER_OPENING_MS = 5_000;

/** Opens the connections, lets the gateway settle, then holds them a whole window (`until` less now). */
async function holdUntil(until: number, opening: Promise<SocketHold>): Promise<AttackResult> {
  const startedAt = performance.now();
  const windowMs = until - startedAt;
  const hold = await opening;
  const openedInMs = performance.now() - startedAt;
  await new Promise((resolve) => setTimeout(resolve, SETTLE_AFTER_OPENING_MS));
  const heldFrom = performance.timeOrigin + performance.now();
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const heldTo = performance.timeOrigin + performance.now();
  const summary = hold.summary();
  hold.release();
  return {
    heldFrom,
    heldTo,
    got: `${describeHold(summary)}; opening took ${num(openedInMs)} ms, then ${num(SETTLE_AFTER_OPENING_MS / 1000)} s to settle, then held ${num(windowMs / 1000)} s`,
    cutOff: summary.opened > 0 && summary.open === 0,
    goawayCodes: [],
    data: summary,
  };
}

export function describeHold(s: HoldSummary): string {
  const parts = [`${num(s.opened)} opened`];
  if (s.failed > 0) parts.push(`${num(s.failed)} failed (${s.firstError})`);
  const median = s.medianCloseMs === undefined ? "" : `, median ${num(s.medianCloseMs)} ms`;
  const goaways = s.goaways > 0 ? `, ${num(s.goaways)} after GOAWAY` : "";
  parts.push(`${num(s.closedByServer)} closed by the gateway${median}${goaways}`);
  parts.push(`${num(s.open)} still open at the end`);
  return parts.join("; ");
}
