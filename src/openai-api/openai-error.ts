import { type ErrorKind, GatewayError } from "../errors/gateway-error.js";

const STATUS: Record<ErrorKind, [status: number, type: string]> = {
  invalid_argument: [400, "invalid_request_error"],
  not_found: [404, "invalid_request_error"],
  unauthenticated: [401, "authentication_error"],
  permission_denied: [403, "permission_error"],
  resource_exhausted: [429, "rate_limit_error"],
  failed_precondition: [400, "invalid_request_error"],
  unavailable: [503, "api_error"],
  deadline_exceeded: [504, "timeout_error"],
  cancelled: [499, "api_error"],
  internal: [500, "api_error"],
};

/** Refusals of the HTTP request itself, whose statuses say more than their kind's. */
const STATUS_BY_REASON: Record<string, [status: number, type: string]> = {
  REQUEST_TOO_LARGE: [413, "invalid_request_error"],
  UNSUPPORTED_MEDIA_TYPE: [415, "invalid_request_error"],
  REQUEST_HEADERS_TOO_LARGE: [431, "invalid_request_error"],
};

export interface OpenAIErrorReply {
  status: number;
  headers: Record<string, string>;
  /** `{"error": {"message", "type", "param", "code"}}`, as OpenAI's clients expect. */
  body: string;
}

/** The one place a gateway error becomes an OpenAI-shaped HTTP error; unknown errors say nothing more. */
export function toOpenAIError(error: unknown): OpenAIErrorReply {
  const known = error instanceof GatewayError ? error : undefined;
  const [status, type] = STATUS_BY_REASON[known?.reason ?? ""] ?? STATUS[known?.kind ?? "internal"];
  const message = known?.message ?? "internal error";
  const code =
    known?.reason === "MODEL_NOT_FOUND" ? "model_not_found" : (known?.reason?.toLowerCase() ?? null);
  const headers: Record<string, string> = { ...known?.headers };
  if (known?.retryAfterMs !== undefined) {
    headers["retry-after"] = String(Math.ceil(known.retryAfterMs / 1000));
    headers["retry-after-ms"] = String(Math.round(known.retryAfterMs));
  }
  return { status, headers, body: JSON.stringify({ error: { message, type, param: null, code } }) };
}
