import { constants as h2 } from "node:http2";
import { GatewayError } from "../errors/gateway-error.js";

/**
 * How far a request got before it failed, which decides whether it may be sent again. An unsent
 * request never reached the upstream. A sent one did (its headers were written), and the upstream
 * may be generating, and billing, the answer: for a unary call the headers come only once the
 * whole completion is done. An answered one had its response headers back.
 */
export type RequestProgress = "unsent" | "sent" | "answered";

/** HTTP/2 error codes by number (RFC 9113, section 7), for messages a person can read. */
const H2_ERROR_NAMES = [
  "NO_ERROR",
  "PROTOCOL_ERROR",
  "INTERNAL_ERROR",
  "FLOW_CONTROL_ERROR",
  "SETTINGS_TIMEOUT",
  "STREAM_CLOSED",
  "FRAME_SIZE_ERROR",
  "REFUSED_STREAM",
  "CANCEL",
  "COMPRESSION_ERROR",
  "CONNECT_ERROR",
  "ENHANCE_YOUR_CALM",
  "INADEQUATE_SECURITY",
  "HTTP_1_1_REQUIRED",
];

/**
 * Maps a failure to reach or read an upstream (undici's errors, Node's socket errors, HTTP/2
 * resets) to a GatewayError, and decides whether it is retryable from its cause and the
 * request's progress. The one place that knows undici's error codes.
 */
export function toUpstreamError(
  error: unknown,
  origin: string,
  signal?: AbortSignal,
  progress: RequestProgress = "unsent",
): GatewayError {
  // Already classified (by a provider's wire format, say): the provider's own word stands, but
  // an error event after a 200 still came from an upstream that had taken the request.
  if (error instanceof GatewayError) return progress === "unsent" ? error : error.asDelivered();
  if (signal?.aborted) {
    // The call's own word on why it ended (a deadline, a caller gone) says it best.
    if (signal.reason instanceof GatewayError) return signal.reason;
    return new GatewayError("cancelled", `the request to ${origin} was abandoned by its caller`, {
      cause: error,
    });
  }
  const failure = classify(error, origin);
  if (progress === "unsent" || (progress === "sent" && UNPROCESSED.has(failure.reason ?? ""))) return failure;
  const when =
    progress === "sent" ? `after the request reached ${origin}` : `after ${origin} had begun its answer`;
  return failure.asDelivered(`${failure.message}, ${when}`);
}

/**
 * Failures that leave the request unprocessed, whatever was sent: REFUSED_STREAM and GOAWAY, as
 * HTTP/2 defines them (RFC 9113, 8.7); and a stream reset with ENHANCE_YOUR_CALM before any answer,
 * which is how Node's HTTP/2 server (nghttp2's OnBeginHeaders) refuses a stream it will not open
 * (a session over its memory or rejected-stream limit), before its application sees the request.
 */
const UNPROCESSED = new Set(["UPSTREAM_REFUSED_STREAM", "UPSTREAM_GOAWAY", "UPSTREAM_CALM_DOWN"]);

function classify(error: unknown, origin: string): GatewayError {
  const {
    code = "",
    http2ErrorCode,
    message = "",
  } = (error ?? {}) as {
    code?: unknown;
    http2ErrorCode?: unknown;
    message?: unknown;
  };
  const name = typeof code === "string" ? code : "";
  if (name === "UND_ERR_RES_CONTENT_LENGTH_MISMATCH") {
    return unavailable(`${origin} sent a body of another length than it announced`, name, error);
  }
  if (typeof http2ErrorCode === "number") return streamReset(http2ErrorCode, origin, error);
  if ((name === "UND_ERR_INFO" || name === "UND_ERR_SOCKET") && String(message).includes('"GOAWAY"')) {
    // undici fails on a GOAWAY only the streams above its last stream id that it could not replay
    // on a new connection: streams the server says it did not process.
    return new GatewayError("unavailable", `${origin} closed the connection (GOAWAY)`, {
      retryable: true,
      reason: "UPSTREAM_GOAWAY",
      cause: error,
    });
  }
  switch (name) {
    case "UND_ERR_CONNECT_TIMEOUT":
      return unavailable(`connecting to ${origin} timed out`, name, error);
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
      return new GatewayError("deadline_exceeded", `${origin} did not answer within the request timeout`, {
        retryable: true,
        reason: "UPSTREAM_TIMEOUT",
        cause: error,
      });
    case "ECONNREFUSED":
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return unavailable(`cannot connect to ${origin} (${name})`, name, error);
    case "ECONNRESET":
    case "EPIPE":
    case "UND_ERR_SOCKET":
    case "UND_ERR_CLOSED":
    case "UND_ERR_INFO":
    case "UND_ERR_ABORTED":
    case "ERR_HTTP2_GOAWAY_SESSION":
    case "ERR_HTTP2_STREAM_ERROR":
    case "ERR_HTTP2_SESSION_ERROR":
    case "ERR_HTTP2_ERROR":
    case "HPE_INVALID_CHUNK_SIZE":
    case "HPE_INVALID_CONSTANT":
    case "HPE_UNEXPECTED_CONTENT_LENGTH":
      return unavailable(`the connection to ${origin} was lost (${name})`, name, error);
    default:
      if (
        name.startsWith("ERR_TLS_") ||
        name.startsWith("ERR_SSL_") ||
        name.startsWith("UNABLE_TO_") ||
        name.includes("CERT")
      ) {
        return new GatewayError("unavailable", `TLS with ${origin} failed (${name})`, {
          reason: "UPSTREAM_TLS",
          cause: error,
        });
      }
      return new GatewayError("unavailable", `the request to ${origin} failed${name ? ` (${name})` : ""}`, {
        retryable: true,
        reason: "UPSTREAM_FAILED",
        cause: error,
      });
  }
}

/**
 * An RST_STREAM from the upstream. REFUSED_STREAM says the request was not processed at all
 * (RFC 9113, section 8.7); undici replays it once itself, so one that reaches here was refused twice.
 */
function streamReset(code: number, origin: string, cause: unknown): GatewayError {
  const name = H2_ERROR_NAMES[code] ?? `code ${code}`;
  const refused = code === h2.NGHTTP2_REFUSED_STREAM;
  return new GatewayError("unavailable", `${origin} ${refused ? "refused" : "reset"} the stream (${name})`, {
    retryable: true,
    reason: refused ? "UPSTREAM_REFUSED_STREAM" : (RESET_REASONS[code] ?? "UPSTREAM_STREAM_RESET"),
    cause,
  });
}

const RESET_REASONS: Record<number, string> = { [h2.NGHTTP2_ENHANCE_YOUR_CALM]: "UPSTREAM_CALM_DOWN" };

function unavailable(message: string, code: string, cause: unknown): GatewayError {
  return new GatewayError("unavailable", message, { retryable: true, reason: `UPSTREAM_${code}`, cause });
}
