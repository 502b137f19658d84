import type { IncomingHttpHeaders } from "node:http";
import type { GatewayError } from "../../errors/gateway-error.js";
import { parseErrorBody, statusOfErrorType, upstreamHttpError } from "../upstream-http-error.js";

/** `{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}` */
interface AnthropicErrorBody {
  error?: { type?: unknown; message?: unknown };
}

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
    status: statusOfErrorType(details.type),
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
