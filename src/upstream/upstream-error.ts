import { GatewayError } from "../errors/gateway-error.js";

/**
 * Maps a failure to reach or read an upstream (undici's errors, Node's socket errors)
 * to a GatewayError. The one place that knows undici's error codes.
 */
export function toUpstreamError(error: unknown, origin: string, signal?: AbortSignal): GatewayError {
  if (error instanceof GatewayError) return error;
  if (signal?.aborted) {
    return new GatewayError("cancelled", `the request to ${origin} was abandoned by its caller`, {
      cause: error,
    });
  }
  const raw = (error as { code?: unknown } | null | undefined)?.code;
  const code = typeof raw === "string" ? raw : "";
  switch (code) {
    case "UND_ERR_CONNECT_TIMEOUT":
      return unavailable(`connecting to ${origin} timed out`, code, error);
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
      return unavailable(`cannot connect to ${origin} (${code})`, code, error);
    case "ECONNRESET":
    case "EPIPE":
    case "UND_ERR_SOCKET":
    case "UND_ERR_CLOSED":
    case "UND_ERR_INFO":
    case "ERR_HTTP2_GOAWAY_SESSION":
    case "ERR_HTTP2_STREAM_ERROR":
    case "ERR_HTTP2_SESSION_ERROR":
      return unavailable(`the connection to ${origin} was lost (${code})`, code, error);
    default:
      if (
        code.startsWith("ERR_TLS_") ||
        code.startsWith("ERR_SSL_") ||
        code.startsWith("UNABLE_TO_") ||
        code.includes("CERT")
      ) {
        return new GatewayError("unavailable", `TLS with ${origin} failed (${code})`, {
          reason: "UPSTREAM_TLS",
          cause: error,
        });
      }
      return new GatewayError("unavailable", `the request to ${origin} failed${code ? ` (${code})` : ""}`, {
        retryable: true,
        reason: "UPSTREAM_FAILED",
        cause: error,
      });
  }
}

function unavailable(message: string, code: string, cause: unknown): GatewayError {
  return new GatewayError("unavailable", message, { retryable: true, reason: `UPSTREAM_${code}`, cause });
}
