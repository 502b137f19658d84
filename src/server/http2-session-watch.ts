import { constants, type Http2Session, type ServerHttp2Stream } from "node:http2";

/**
 * A stream the caller reset before its answer ended, within this long of opening it: a
 * cancellation so early that it is the rapid-reset pattern (CVE-2023-44487), not a change of mind.
 */
const PREMATURE_RESET_MS = 1_000;
/** Premature resets a connection may make before the ratio below is judged. */
const PREMATURE_RESETS_ALLOWED = 100;
/** Cut off once more than this share of a connection's streams were reset prematurely. */
const PREMATURE_RESET_SHARE = 0.5;
/**
 * PINGs and SETTINGS a connection may send: a burst, then a rate. Clients send a handful (a
 * keep-alive ping every few seconds, a SETTINGS per window change); a flood costs us an answer each.
 */
const CONTROL_FRAME_BURST = 200;
const CONTROL_FRAMES_PER_SECOND = 100;
/** The longest an idle connection outlives its idle timeout: how often idleness is looked at. */
const IDLE_SWEEP_MAX_MS = 5_000;

export type Http2Abuse = "rapid_reset" | "ping_flood" | "settings_flood";

/**
 * What is known of one watched connection. Kept small, and the listeners are shared by every
 * connection: thousands of idle connections are held at a few hundred bytes each of our own.
 */
interface Watched {
  readonly watch: Http2SessionWatch;
  /** Cut off, its GOAWAY on the way. */
  cut: boolean;
  streams: number;
  open: number;
  prematureResets: number;
  /** When the last stream closed (or the connection opened): idle since then while `open` is 0. */
  idleSince: number;
  /** Streams opened within PREMATURE_RESET_MS and not yet seen closed; made on the first stream. */
  young: Map<ServerHttp2Stream, number> | undefined;
  pingTokens: number;
  settingsTokens: number;
  refilledAt: number;
}

const WATCHED = Symbol("weaver.http2-session-watch");
type WatchedSession = Http2Session & { [WATCHED]?: Watched };

/**
 * Watches the callers' HTTP/2 connections. A flood that costs the gateway more than the caller
 * (streams opened and reset at once, PING or SETTINGS floods) gets GOAWAY with ENHANCE_YOUR_CALM
 * and the connection closed; a connection with no stream for `idleTimeoutMs` is closed (GOAWAY,
 * then the socket once it is quiet); a long, quiet stream keeps its connection.
 */
export class Http2SessionWatch {
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    sessions: () => Iterable<Http2Session>,
    private readonly idleTimeoutMs: number,
    readonly onAbuse: (abuse: Http2Abuse, peer: string) => void,
  ) {
    const every = Math.min(idleTimeoutMs / 2, IDLE_SWEEP_MAX_MS);
    this.sweeper = setInterval(() => this.closeIdle(sessions()), every).unref();
  }

  add(session: Http2Session): void {
    const now = performance.now();
    (session as WatchedSession)[WATCHED] = {
      watch: this,
      cut: false,
      streams: 0,
      open: 0,
      prematureResets: 0,
      idleSince: now,
      young: undefined,
      pingTokens: CONTROL_FRAME_BURST,
      settingsTokens: CONTROL_FRAME_BURST,
      refilledAt: now,
    };
    // Before the server's own listener, so a cut-off stream reaches no handler.
    session.prependListener("stream", onStream);
    session.on("ping", onPing);
    session.on("remoteSettings", onRemoteSettings);
    session.on("error", ignoreError);
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private closeIdle(sessions: Iterable<Http2Session>): void {
    const now = performance.now();
    for (const session of sessions) {
      const watched = (session as WatchedSession)[WATCHED];
      if (watched && watched.open === 0 && now - watched.idleSince >= this.idleTimeoutMs && !session.closed)
        session.close();
    }
  }
}

function onStream(this: WatchedSession, stream: ServerHttp2Stream): void {
  const watched = this[WATCHED];
  if (watched === undefined || watched.cut) return;
  const now = performance.now();
  countResets(this, watched, now);
  if (watched.cut) return;
  watched.streams++;
  watched.open++;
  watched.young ??= new Map();
  watched.young.set(stream, now);
  stream.once("close", () => {
    if (--watched.open === 0) watched.idleSince = performance.now();
    countResets(this, watched, performance.now());
  });
}

/**
 * nghttp2 handles a whole read of frames at once, and a stream's reset is known (rstCode) by the
 * time the next stream opens, before the 'aborted' events run: counting here stops a flood
 * before the rest of that read reaches the handlers.
 */
function countResets(session: WatchedSession, watched: Watched, now: number): void {
  if (watched.young === undefined) return;
  for (const [stream, openedAt] of watched.young) {
    // Looked at past its first second, a stream is no longer young, whatever ended it: a long
    // stream the caller cancels is a change of mind, not a flood.
    if (now - openedAt > PREMATURE_RESET_MS) watched.young.delete(stream);
    else if (stream.rstCode !== undefined && stream.rstCode !== constants.NGHTTP2_NO_ERROR) {
      if (stream.rstCode !== constants.NGHTTP2_ENHANCE_YOUR_CALM) watched.prematureResets++;
      watched.young.delete(stream);
    } else if (stream.closed) watched.young.delete(stream);
  }
  const { prematureResets, streams } = watched;
  if (prematureResets > PREMATURE_RESETS_ALLOWED && prematureResets > streams * PREMATURE_RESET_SHARE)
    cutOff(session, watched, "rapid_reset");
}

function onPing(this: WatchedSession): void {
  spendControlFrame(this, "pingTokens", "ping_flood");
}

function onRemoteSettings(this: WatchedSession): void {
  spendControlFrame(this, "settingsTokens", "settings_flood");
}

/** Takes a token from the frame's bucket, or cuts the connection off when it is empty. */
function spendControlFrame(
  session: WatchedSession,
  bucket: "pingTokens" | "settingsTokens",
  abuse: Http2Abuse,
): void {
  const watched = session[WATCHED];
  if (watched === undefined || watched.cut) return;
  refill(watched);
  if (watched[bucket] < 1) cutOff(session, watched, abuse);
  else watched[bucket]--;
}

/** Two token buckets, refilled together: CONTROL_FRAMES_PER_SECOND each, up to CONTROL_FRAME_BURST. */
function refill(watched: Watched): void {
  const now = performance.now();
  const tokens = ((now - watched.refilledAt) / 1000) * CONTROL_FRAMES_PER_SECOND;
  watched.pingTokens = Math.min(CONTROL_FRAME_BURST, watched.pingTokens + tokens);
  watched.settingsTokens = Math.min(CONTROL_FRAME_BURST, watched.settingsTokens + tokens);
  watched.refilledAt = now;
}

function cutOff(session: Http2Session, watched: Watched, abuse: Http2Abuse): void {
  if (watched.cut || session.destroyed) return;
  watched.cut = true;
  watched.watch.onAbuse(abuse, `${session.socket?.remoteAddress}:${session.socket?.remotePort}`);
  // The GOAWAY says why at once; the session is destroyed after the read being handled (destroyed
  // inside nghttp2's callbacks it would fail the read, and its GOAWAY would say INTERNAL_ERROR).
  // Requests wait a turn for their handler (the listener), and find their streams destroyed.
  session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
  setImmediate(() => {
    // An error, not undefined: with undefined Node sends its default, NO_ERROR, whatever the code.
    if (!session.destroyed)
      session.destroy(new Error(`cut off for ${abuse}`), constants.NGHTTP2_ENHANCE_YOUR_CALM);
  });
}

/** The server logs a session's errors; the one a cut-off raises is ours, sent on purpose. */
const ignoreError = () => {};
