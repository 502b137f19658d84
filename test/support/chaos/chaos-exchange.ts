import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { constants, type ServerHttp2Stream } from "node:http2";

/**
 * One request/response on the chaos upstream, whatever carries it: the faults are played on
 * this, and HTTP/2 and HTTP/1.1 each say what a reset or a GOAWAY means for them.
 */
export interface Exchange {
  /** Aborted once the response is over: ended or reset by us, or abandoned by the client. */
  readonly closed: AbortSignal;
  respond(status: number, headers: Record<string, string>): void;
  /** Writes a piece, waiting for the client to drain; false when the exchange closed meanwhile. */
  write(piece: Buffer): Promise<boolean>;
  end(): void;
  /** RST_STREAM on HTTP/2; on HTTP/1.1 the socket is destroyed. */
  reset(): void;
  /**
   * GOAWAY naming this stream unprocessed, then REFUSED_STREAM: true, the client was told nothing
   * was processed. On HTTP/1.1 the socket is destroyed, which tells the client nothing: false.
   */
  goaway(): boolean;
  /**
   * Whether a GOAWAY on this connection excluded this stream, before it arrived or while it was in
   * flight: the server said it processed none of it (it must then be refused, not answered).
   */
  refused(): boolean;
}

/** Called once when the response is over (performance.now()); byClient: abandoned before we finished it. */
export type OnClose = (at: number, byClient: boolean) => void;

/** How long a session that sent GOAWAY lingers for its older streams before it is destroyed. */
const GOAWAY_GRACE_MS = 2_000;
/** Sessions that sent GOAWAY, and the last stream id they promised to process. */
const lastStreamIds = new WeakMap<object, number>();
/** The highest stream id each session has answered: a GOAWAY may not disown a stream already answered. */
const answeredUpTo = new WeakMap<object, number>();

/** Whether an HTTP/2 stream arrived after its session's GOAWAY excluded it. */
export function refusedByGoaway(stream: ServerHttp2Stream): boolean {
  const last = lastStreamIds.get(stream.session ?? {});
  return last !== undefined && (stream.id ?? 0) > last;
}

export function h2Exchange(stream: ServerHttp2Stream, onClose: OnClose): Exchange {
  const done = new AbortController();
  // Kept: a closed stream forgets its session and id, and a later GOAWAY may still disown it.
  const session = stream.session ?? {};
  const id = stream.id ?? 0;
  let ours = false;
  stream.once("close", () => {
    onClose(performance.now(), !ours);
    done.abort();
  });
  const close = (code: number) => {
    ours = true;
    if (!stream.destroyed) stream.close(code);
  };
  return {
    closed: done.signal,
    respond: (status, headers) => {
      if (stream.destroyed) return;
      stream.respond({ ":status": status, ...headers });
      const session = stream.session;
      if (session) answeredUpTo.set(session, Math.max(answeredUpTo.get(session) ?? 0, stream.id ?? 0));
    },
    write: (piece) => written(stream.destroyed ? false : stream.write(piece), stream, done.signal),
    end: () => {
      ours = true;
      if (!stream.destroyed) stream.end();
    },
    reset: () => close(constants.NGHTTP2_INTERNAL_ERROR),
    goaway: () => {
      const session = stream.session;
      if (session && !session.destroyed && !lastStreamIds.has(session)) {
        // RFC 9113 §6.8: every stream up to the last one acted on; the later ones in flight are refused.
        const last = answeredUpTo.get(session) ?? 0;
        lastStreamIds.set(session, last);
        session.goaway(constants.NGHTTP2_NO_ERROR, last);
        setTimeout(() => session.destroy(), GOAWAY_GRACE_MS).unref();
      }
      close(constants.NGHTTP2_REFUSED_STREAM);
      return true;
    },
    refused: () => {
      const last = lastStreamIds.get(session);
      return last !== undefined && id > last;
    },
  };
}

export function h1Exchange(req: IncomingMessage, res: ServerResponse, onClose: OnClose): Exchange {
  const done = new AbortController();
  let ours = false;
  res.once("close", () => {
    onClose(performance.now(), !ours && !res.writableFinished);
    done.abort();
  });
  const destroy = () => {
    ours = true;
    req.socket.destroy();
  };
  return {
    closed: done.signal,
    respond: (status, headers) => {
      if (res.destroyed) return;
      res.writeHead(status, headers);
      res.flushHeaders();
    },
    write: (piece) => written(res.destroyed ? false : res.write(piece), res, done.signal),
    end: () => {
      ours = true;
      if (!res.destroyed) res.end();
    },
    reset: destroy,
    goaway: () => {
      destroy();
      return false;
    },
    refused: () => false,
  };
}

/** Resolves once a write is flushed to the transport: at once, or when it drains; false if closed first. */
async function written(
  flushed: boolean,
  writable: NodeJS.EventEmitter,
  closed: AbortSignal,
): Promise<boolean> {
  if (closed.aborted) return false;
  if (flushed) return true;
  try {
    await once(writable, "drain", { signal: closed });
    return true;
  } catch {
    return false;
  }
}
