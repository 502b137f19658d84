/** How a scripted response is paced and broken; every field is optional. */
export interface Pacing {
  /** Wait this long before sending the status line and headers (time to first byte). */
  headersDelayMs?: number;
  /** Wait this long between SSE events (or raw chunks): a slow stream. */
  eventDelayMs?: number;
  /** Re-cut the whole body into pieces of this many bytes (may split UTF-8 characters and lines). */
  chunkBytes?: number;
  /** Break the connection after this many events (or pieces) were written; 0: right after the headers. */
  resetAfterEvents?: number;
  /** On HTTP/2, "stream" sends RST_STREAM, "connection" (default) destroys the whole session. */
  resetMode?: "connection" | "stream";
}

/** An HTTP error answer. The body defaults to the provider's real error shape for `status`. */
export interface ErrorScenario {
  kind: "error";
  status: number;
  /** The provider's error type, e.g. "rate_limit_error" or "invalid_request_error". */
  type?: string;
  message?: string;
  /** A body to send instead: a string goes verbatim, anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** The `retry-after` header, in seconds (or an HTTP date). */
  retryAfter?: number | string;
  /** The `retry-after-ms` header. */
  retryAfterMs?: number;
}

/** Scenarios every fake understands, whatever the provider. */
export type CommonScenario =
  /** Headers never come: the request hangs until the client gives up. */
  | { kind: "hang" }
  /** The connection is destroyed as soon as the request has arrived, before any response. */
  | { kind: "reset" }
  /** Sends `chunks` verbatim (e.g. SSE text split at awkward bytes), one write each. */
  | ({
      kind: "raw";
      status?: number;
      headers?: Record<string, string>;
      chunks: (string | Uint8Array)[];
    } & Pacing)
  | ErrorScenario;

/** What a fake decided to do with one request; the base server carries it out. */
export type Reply =
  | {
      type: "send";
      status: number;
      headers: Record<string, string>;
      /** Written one by one: a JSON body is one piece, an SSE stream one piece per event. */
      pieces: (string | Uint8Array)[];
      pacing?: Pacing;
    }
  | { type: "hang" }
  | { type: "reset" };

/** A reply that sends a status, headers and a body. */
export type SendReply = Extract<Reply, { type: "send" }>;

/** Every request the fake received, as it arrived. */
export interface RecordedRequest {
  method: string;
  /** The path with its query string, e.g. "/v1/chat/completions". */
  path: string;
  /** Lower-case header names; HTTP/2 pseudo-headers (":path", ...) are left out. */
  headers: Record<string, string>;
  /** HTTP/2's `:authority`, or HTTP/1.1's `host`: what a signature over `host` covers. */
  authority: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  body: unknown;
  rawBody: string;
  /** "2.0" or "1.1". */
  httpVersion: string;
  /** performance.now() when the body had fully arrived. */
  receivedAt: number;
}

/** Splits the concatenated pieces into Buffers of `size` bytes. */
export function recut(pieces: (string | Uint8Array)[], size: number): Buffer[] {
  const all = Buffer.concat(pieces.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : p)));
  const out: Buffer[] = [];
  for (let at = 0; at < all.length; at += size) out.push(all.subarray(at, at + size));
  return out;
}

/** The `retry-after` / `retry-after-ms` headers an error scenario asks for, plus its own. */
export function errorHeaders(s: ErrorScenario): Record<string, string> {
  return {
    ...(s.retryAfter !== undefined ? { "retry-after": String(s.retryAfter) } : {}),
    ...(s.retryAfterMs !== undefined ? { "retry-after-ms": String(s.retryAfterMs) } : {}),
    ...s.headers,
  };
}

/** A JSON reply with content-type and content-length. */
export function jsonReply(status: number, body: unknown, headers: Record<string, string> = {}): SendReply {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return {
    type: "send",
    status,
    headers: {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(text)),
      ...headers,
    },
    pieces: [text],
  };
}

/** An SSE reply: one piece per event. */
export function sseReply(events: string[], headers: Record<string, string>, pacing?: Pacing): SendReply {
  return {
    type: "send",
    status: 200,
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", ...headers },
    pieces: events,
    ...(pacing ? { pacing } : {}),
  };
}
