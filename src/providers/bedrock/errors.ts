import type { IncomingHttpHeaders } from "node:http";
import type { GatewayError } from "../../errors/gateway-error.js";
import { parseErrorBody, upstreamHttpError } from "../upstream-http-error.js";

/**
 * What each error type means, as the status it is classified by: the status Bedrock Runtime
 * sends it with (SDK 3.1164's error shapes), except where the type says more than the status.
 */
const MEANING: Record<string, number> = {
  ValidationException: 400,
  ConflictException: 400,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  ModelTimeoutException: 408,
  ThrottlingException: 429,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
  // Sent as 429, but it is the model being loaded, not the caller going too fast.
  ModelNotReadyException: 503,
  // Sent as 400: an account quota, which another deployment (region, account) may not share.
  ServiceQuotaExceededException: 429,
  // Sent as 424: the model failed while answering, not the request.
  ModelErrorException: 502,
  ModelStreamErrorException: 502,
  // AWS's own authentication failures come as 403; they are credentials, not permissions.
  InvalidSignatureException: 401,
  IncompleteSignatureException: 401,
  UnrecognizedClientException: 401,
  MissingAuthenticationTokenException: 401,
  ExpiredTokenException: 401,
  InvalidClientTokenId: 401,
};

/** `{"message": "..."}`; some services spell it `Message`, and name the type in `__type` or `code`. */
interface AwsErrorBody {
  message?: unknown;
  Message?: unknown;
  __type?: unknown;
  code?: unknown;
}

/** An HTTP error answer: its type in `x-amzn-errortype` (or the body), its message in the body. */
export function httpError(
  status: number,
  bodyText: string,
  headers: IncomingHttpHeaders,
  provider: string,
): GatewayError {
  const body = parseErrorBody(bodyText) as AwsErrorBody | undefined;
  const type = errorType(headers["x-amzn-errortype"] ?? body?.__type ?? body?.code);
  const message = messageOf(body) ?? stringOf(headers["x-amzn-error-message"]);
  return upstreamHttpError({ provider, status, type, message, headers, meaning: meaningOf(type) });
}

/**
 * An exception event inside a stream that had answered 200: `:exception-type` (camelCase,
 * e.g. `throttlingException`) with a `{"message"}` payload, or an `error` message with its code
 * and message in headers.
 */
export function streamError(exceptionType: string | undefined, payload: unknown, provider: string) {
  const type = errorType(exceptionType);
  const status = meaningOf(type) ?? 500;
  return upstreamHttpError({ provider, status, type, message: messageOf(payload), inStream: true });
}

function meaningOf(type: string | undefined): number | undefined {
  return type === undefined ? undefined : MEANING[type];
}

/**
 * `ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/` or
 * `aws.protocoltests#ValidationException` as `ValidationException`; camelCase as PascalCase.
 */
function errorType(raw: unknown): string | undefined {
  const text = stringOf(raw)?.split(":")[0]?.split("#").at(-1)?.trim();
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : undefined;
}

/**
 * A signature failure's message goes on, after a blank line, with the canonical request and the
 * string to sign, session token and all: only the first paragraph is kept.
 */
function messageOf(body: unknown): string | undefined {
  const error = body as AwsErrorBody | undefined;
  return stringOf(error?.message ?? error?.Message)?.split(/\r?\n\r?\n/)[0];
}

function stringOf(value: unknown): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return typeof text === "string" && text !== "" ? text : undefined;
}
