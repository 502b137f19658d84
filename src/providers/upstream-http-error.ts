import type { IncomingHttpHeaders } from "node:http";
import { GatewayError } from "../errors/gateway-error.js";
import { classifyStatus } from "./http-status.js";
import { redactSecrets } from "./redact-secrets.js";
import { retryAfterMs } from "./retry-after.js";

export interface ProviderErrorReport {
  provider: string;
  /** The HTTP status, or the status the error's type stands for when it came inside a stream. */
  status: number;
  /** The provider's own error type, e.g. "rate_limit_error". */
  type?: string | undefined;
  message?: string | undefined;
  headers?: IncomingHttpHeaders;
  /** True when the error arrived inside a stream that had answered 200. */
  inStream?: boolean;
  /**
   * The status whose meaning applies, when the provider's error type says more than its status:
   * Bedrock's ModelErrorException comes as 424, and is the model failing, not the request.
   */
  meaning?: number | undefined;
  /** How long the body asks callers to wait (Google's RetryInfo), in ms; it comes before any header's. */
  retryAfterMs?: number | undefined;
}

/** A provider's error as a GatewayError: `openai rate_limit_exceeded: Slow down (HTTP 429)`, secrets removed. */
export function upstreamHttpError(report: ProviderErrorReport): GatewayError {
  const { kind, retryable } = classifyStatus(report.meaning ?? report.status);
  const what = [report.type, report.message].filter(Boolean).join(": ") || "error";
  const where = report.inStream ? "in the stream" : `HTTP ${report.status}`;
  return new GatewayError(kind, `${report.provider} ${redactSecrets(what)} (${where})`, {
    retryable,
    status: report.status,
    reason: report.inStream ? "UPSTREAM_STREAM_ERROR" : `UPSTREAM_HTTP_${report.status}`,
    retryAfterMs: report.retryAfterMs ?? (report.headers ? retryAfterMs(report.headers) : undefined),
  });
}

/** The body of an error answer, parsed when it is JSON; the first 200 characters when it is not. */
export function parseErrorBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const trimmed = text.trim().slice(0, 200);
    return trimmed === "" ? undefined : { message: trimmed };
  }
}

// The error types providers send, and the HTTP statuses they come with: how an error that
// arrives inside a 200 stream, with no status of its own, is classified.
const ERROR_TYPE_STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  rate_limit_exceeded: 429,
  insufficient_quota: 429,
  api_error: 500,
  server_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
  // Google's canonical codes (google.rpc.Code), as Gemini's errors name them in `status`.
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  OUT_OF_RANGE: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ABORTED: 409,
  ALREADY_EXISTS: 409,
  RESOURCE_EXHAUSTED: 429,
  CANCELLED: 499,
  INTERNAL: 500,
  UNKNOWN: 500,
  DATA_LOSS: 500,
  UNIMPLEMENTED: 501,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

/** The status an error type stands for; 500 for a type no provider documents. */
export function statusOfErrorType(type: string | undefined): number {
  return ERROR_TYPE_STATUS[type ?? ""] ?? 500;
}

/**
 * The status an error inside a 200 stream stands for: its numeric `code` when that is an HTTP
 * error status (OpenAI-compatible servers and Google send one), else its type's.
 */
export function statusOfStreamError(code: unknown, type: string | undefined): number {
  return typeof code === "number" && code >= 400 && code < 600 ? code : statusOfErrorType(type);
}
