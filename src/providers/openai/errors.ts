import type { IncomingHttpHeaders } from "node:http";
import type { GatewayError } from "../../errors/gateway-error.js";
import { parseErrorBody, statusOfStreamError, upstreamHttpError } from "../upstream-http-error.js";

/** `{"error": {"message", "type", "code"}}`; some compatible servers send a string or an integer code. */
interface OpenAIError {
  message?: unknown;
  type?: unknown;
  code?: unknown;
}

/** An HTTP error answer of an OpenAI-compatible API. */
export function httpError(
  status: number,
  bodyText: string,
  headers: IncomingHttpHeaders,
  provider: string,
): GatewayError {
  const body = parseErrorBody(bodyText) as { error?: OpenAIError | string; message?: unknown } | undefined;
  const error = typeof body?.error === "string" ? { message: body.error } : (body?.error ?? body);
  return upstreamHttpError({ provider, status, ...describe(error), headers });
}

/** An `error` object sent inside a stream that had answered 200. */
export function streamError(error: unknown, provider: string): GatewayError {
  const details = describe(typeof error === "string" ? { message: error } : (error as OpenAIError));
  const status = statusOfStreamError((error as OpenAIError | undefined)?.code, details.type);
  return upstreamHttpError({ provider, status, ...details, inStream: true });
}

function describe(error: OpenAIError | undefined): { type?: string; message?: string } {
  const type =
    typeof error?.type === "string" ? error.type : typeof error?.code === "string" ? error.code : undefined;
  const message = typeof error?.message === "string" ? error.message : undefined;
  return { ...(type ? { type } : {}), ...(message ? { message } : {}) };
}
