/** The Anthropic Messages API's error types, each of which may arrive as an `error` event after a 200. */
export const ANTHROPIC_ERROR_TYPES = [
  "invalid_request_error",
  "authentication_error",
  "permission_error",
  "not_found_error",
  "request_too_large",
  "rate_limit_error",
  "api_error",
  "overloaded_error",
] as const;

/** OpenAI's own error types as they appear in an `error` object inside a chat completion stream. */
export const OPENAI_ERROR_TYPES = ["server_error", "rate_limit_exceeded", "insufficient_quota"] as const;

export type ProviderErrorType = (typeof ANTHROPIC_ERROR_TYPES)[number] | (typeof OPENAI_ERROR_TYPES)[number];

/** The HTTP statuses an upstream answers errors with (each provider's own error body goes with them). */
export const ERROR_STATUSES = [400, 401, 402, 403, 404, 408, 413, 422, 429, 500, 502, 503, 504, 529] as const;

/** Sizes of the huge event line: the 10 MB, and 1 MB, under the gateway's bound. */
export const HUGE_EVENT_MEGABYTES = [1, 10] as const;

/** What the response body carries; "events" count whole SSE events of the normal answer. */
export type Payload =
  /** The normal answer: JSON, or an SSE stream, as the request's `stream` flag asks. */
  | { kind: "answer" }
  /**
   * An error event after `afterEvents` good events (a 200 already sent). Anthropic: `event: error`;
   * OpenAI wire: an `error` object in a chunk, `openrouter` style with a numeric code.
   */
  | { kind: "error-event"; type: ProviderErrorType; afterEvents: number; openrouter: boolean }
  /** Data that is not JSON after `afterEvents` good events (unary: a body that is not JSON). */
  | { kind: "invalid-json"; afterEvents: number }
  /** Bytes that are not UTF-8 inside the answer's text; the rest of the answer as usual. */
  | { kind: "invalid-utf8" }
  /** An event of a type no provider documents after `afterEvents` good events, then the rest. */
  | { kind: "unknown-event"; afterEvents: number }
  /** One event line of `megabytes` MB (unary: a JSON body that size). */
  | { kind: "huge-event"; megabytes: number }
  /** The start of an answer, then keep-alive pings (unary: whitespace) forever. */
  | { kind: "pings-forever" }
  /** 200 and no body at all. */
  | { kind: "empty" }
  /** An error status with the provider's error body. */
  | { kind: "http-error"; status: number; retryAfterMs?: number }
  /** 200 with `text/html` and an HTML page instead of SSE or JSON. */
  | { kind: "wrong-content-type" };

/**
 * How the chaos upstream treats one request: a plain, serialisable description, so a failing
 * case prints readably and fast-check can shrink it.
 */
export interface Fault {
  /** Before the response headers: answer; never answer; reset (RST_STREAM, h1: destroy the socket); GOAWAY naming the stream unprocessed (h1: destroy the socket). */
  head: "respond" | "hang" | "reset" | "goaway";
  payload: Payload;
  /** The body is written in pieces of this many bytes; 0 writes one piece per event. */
  chunkBytes: number;
  /** A pause before each piece, in ms (the slow drip: 1 byte per 100 ms). */
  gapMs: number;
  /** The body stops after this many bytes; absent: the whole body. */
  cutAt?: number;
  /** After the body (or the cut): end the response, reset it, or fall silent with it open. */
  tail: "end" | "reset" | "silence";
}

/** A fault that behaves exactly like a normal upstream. */
export const NO_FAULT: Fault = {
  head: "respond",
  payload: { kind: "answer" },
  chunkBytes: 0,
  gapMs: 0,
  tail: "end",
};
