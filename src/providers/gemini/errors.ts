import type { IncomingHttpHeaders } from "node:http";
import type { GatewayError } from "../../errors/gateway-error.js";
import { parseErrorBody, statusOfStreamError, upstreamHttpError } from "../upstream-http-error.js";

/**
 * Google's error: `{"error": {"code": 429, "message", "status": "RESOURCE_EXHAUSTED", "details":
 * [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"}, ...]}}`.
 */
interface GoogleError {
  code?: unknown;
  message?: unknown;
  status?: unknown;
  details?: unknown;
}

interface ErrorDetail {
  "@type"?: unknown;
  retryDelay?: unknown;
  reason?: unknown;
}

const RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo";
const ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo";

/** An HTTP error answer of the Gemini API. */
export function httpError(
  status: number,
  bodyText: string,
  headers: IncomingHttpHeaders,
  provider: string,
): GatewayError {
  const body = parseErrorBody(bodyText) as { error?: GoogleError } | { error?: GoogleError }[] | undefined;
  // Without alt=sse a stream's error comes in its JSON array.
  const error = (Array.isArray(body) ? body[0]?.error : body?.error) ?? (body as GoogleError | undefined);
  return upstreamHttpError({ provider, status, ...describe(error), headers });
}

/** An `{"error": ...}` event in a stream that had answered 200: its code is the HTTP status it stands for. */
export function streamError(error: unknown, provider: string): GatewayError {
  const details = describe(error as GoogleError);
  const status = statusOfStreamError((error as GoogleError).code, details.type);
  return upstreamHttpError({ provider, status, ...details, inStream: true });
}

/**
 * The status name and message, the wait RetryInfo asks for, and what an invalid key means: Google
 * answers one with 400 INVALID_ARGUMENT and an ErrorInfo of reason API_KEY_INVALID, which is the
 * credentials' fault, not the request's.
 */
function describe(error: GoogleError | undefined): {
  type?: string;
  message?: string;
  meaning?: number;
  retryAfterMs?: number;
} {
  const type = typeof error?.status === "string" ? error.status : undefined;
  const message = typeof error?.message === "string" ? error.message : undefined;
  const details = (Array.isArray(error?.details) ? error.details : []) as ErrorDetail[];
  const retryDelay = details.find((d) => d?.["@type"] === RETRY_INFO)?.retryDelay;
  const retryAfterMs = durationMs(retryDelay);
  const keyInvalid = details.some((d) => d?.["@type"] === ERROR_INFO && d.reason === "API_KEY_INVALID");
  return {
    ...(type ? { type } : {}),
    ...(message ? { message } : {}),
    ...(keyInvalid ? { meaning: 401 } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  };
}

/** A google.protobuf.Duration in its JSON form ("12s", "0.5s", "1.000340012s") as ms. */
function durationMs(value: unknown): number | undefined {
  const seconds = typeof value === "string" ? /^(\d+(?:\.\d+)?)s$/.exec(value.trim())?.[1] : undefined;
  return seconds === undefined ? undefined : Math.round(Number(seconds) * 1000);
}
