import type { IncomingHttpHeaders } from "node:http";
import type { GatewayError } from "../../errors/gateway-error.js";
import { parseErrorBody, upstreamHttpError } from "../upstream-http-error.js";

/** `{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}` */
interface AnthropicErrorBody {
  error?: { type?: unknown; message?: unknown };
}

// Anthropic's documented error types and the statuses they come with, for errors inside a stream.
const TYPE_STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

export function httpError(
  status: number,
  bodyText: string,
  headers: IncomingHttpHeaders,
  provider: string,
): GatewayError {
  return upstreamHttpError({ provider, status, ...describe(parseErrorBody(bodyText)), headers });
}

/** An `error` event after the stream had answered 200. */
export function streamError(data: unknown, provider: string): GatewayError {
  const details = describe(data);
  return upstreamHttpError({
    provider,
    status: TYPE_STATUS[details.type ?? ""] ?? 500,
    ...details,
    inStream: true,
  });
}

function describe(body: unknown): { type?: string; message?: string } {
  const error = (body as AnthropicErrorBody | undefined)?.error ?? (body as AnthropicErrorBody["error"]);
  const type = typeof error?.type === "string" && error.type !== "error" ? error.type : undefined;
  const message = typeof error?.message === "string" ? error.message : undefined;
  return { ...(type ? { type } : {}), ...(message ? { message } : {}) };
}
