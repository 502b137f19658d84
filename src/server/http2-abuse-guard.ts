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
const CONTROL_FRAME_BURST = 1_000;
const CONTROL_FRAMES_PER_SECOND = 100;

export type Http2Abuse = "rapid_reset" | "ping_flood" | "settings_flood";

/**
 * Watches one caller's HTTP/2 connection for floods that cost the gateway more than the caller:
 * streams opened and reset at once, PING and SETTINGS floods. An abuser gets GOAWAY with
 * ENHANCE_YOUR_CALM and its connection closed; other callers never notice.
 */
export function guardHttp2Session(session: Http2Session, onAbuse: (abuse: Http2Abuse) => void): void {
  let streams = 0;
  let prematureResets = 0;
  /** Streams opened within PREMATURE_RESET_MS and not yet seen closed, with their opening time. */
  const young = new Map<ServerHttp2Stream, number>();
  const pings = new ControlFrameBudget();
  const settings = new ControlFrameBudget();
  const cutOff = (abuse: Http2Abuse) => {
    if (session.destroyed) return;
    onAbuse(abuse);
    // An error, not undefined: with undefined Node sends its default, NO_ERROR, whatever the code.
    session.destroy(new Error(`cut off for ${abuse}`), constants.NGHTTP2_ENHANCE_YOUR_CALM);
  };
  // nghttp2 handles a whole read of frames at once, and a stream's reset is known (rstCode) by the
  // time the next stream opens, before the 'aborted' events run: counting here stops a flood
  // before the rest of that read reaches the handlers.
  const countResets = (now: number) => {
    for (const [stream, openedAt] of young) {
      if (stream.rstCode !== undefined && stream.rstCode !== constants.NGHTTP2_NO_ERROR) {
        if (stream.rstCode !== constants.NGHTTP2_ENHANCE_YOUR_CALM) prematureResets++;
        young.delete(stream);
      } else if (stream.closed || now - openedAt > PREMATURE_RESET_MS) young.delete(stream);
    }
    if (prematureResets > PREMATURE_RESETS_ALLOWED && prematureResets > streams * PREMATURE_RESET_SHARE)
      cutOff("rapid_reset");
  };
  // Before the server's own listener, so a cut-off stream reaches no handler.
  session.prependListener("stream", (stream: ServerHttp2Stream) => {
    const now = performance.now();
    countResets(now);
    if (session.destroyed) return;
    streams++;
    young.set(stream, now);
    stream.once("close", () => countResets(performance.now()));
  });
  session.on("error", ignoreError);
  session.on("ping", () => {
    if (!pings.take()) cutOff("ping_flood");
  });
  session.on("remoteSettings", () => {
    if (!settings.take()) cutOff("settings_flood");
  });
}

/** The server logs a session's errors; this one is ours, sent on purpose. */
const ignoreError = () => {};

/** A token bucket: CONTROL_FRAME_BURST frames at once, refilled at CONTROL_FRAMES_PER_SECOND. */
class ControlFrameBudget {
  private tokens = CONTROL_FRAME_BURST;
  private refilledAt = performance.now();

  take(): boolean {
    const now = performance.now();
    const refill = ((now - this.refilledAt) / 1000) * CONTROL_FRAMES_PER_SECOND;
    this.tokens = Math.min(CONTROL_FRAME_BURST, this.tokens + refill);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}
