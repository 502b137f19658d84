/**
 * What went wrong, in words every layer shares. Only `service/` turns a kind into a
 * Connect code, so the layers below know nothing of gRPC.
 */
export type ErrorKind =
  | "invalid_argument"
  | "not_found"
  | "unauthenticated"
  | "permission_denied"
  | "resource_exhausted"
  | "failed_precondition"
  | "unavailable"
  | "deadline_exceeded"
  | "cancelled"
  | "internal";

export interface GatewayErrorOptions {
  /** Whether another attempt (here or at another deployment) may succeed. */
  retryable?: boolean;
  /**
   * The request had reached the upstream before the failure, so the upstream may have processed
   * and billed it: it is never sent again, retryable or not.
   */
  delivered?: boolean;
  /** The upstream HTTP status, when there was one. */
  status?: number;
  /** A stable reason a client can switch on, e.g. "UPSTREAM_HTTP_429". */
  reason?: string;
  /** How long the provider asked callers to wait before trying again, in ms. */
  retryAfterMs?: number | undefined;
  /** Headers (gRPC metadata) the caller is sent with the error, e.g. where its key's quotas stand. */
  headers?: Readonly<Record<string, string>> | undefined;
  cause?: unknown;
}

export class GatewayError extends Error {
  readonly retryable: boolean;
  readonly delivered: boolean;
  readonly status: number | undefined;
  readonly reason: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(
    readonly kind: ErrorKind,
    message: string,
    options: GatewayErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "GatewayError";
    this.retryable = options.retryable ?? false;
    this.delivered = options.delivered ?? false;
    this.status = options.status;
    this.reason = options.reason;
    this.retryAfterMs = options.retryAfterMs;
    this.headers = options.headers;
  }

  /** This failure, as one that happened after the request had reached the upstream. */
  asDelivered(message = this.message): GatewayError {
    if (this.delivered) return this;
    return new GatewayError(this.kind, message, {
      retryable: this.retryable,
      delivered: true,
      status: this.status,
      reason: this.reason,
      retryAfterMs: this.retryAfterMs,
      headers: this.headers,
      cause: this.cause,
    });
  }
}

/**
 * A field of the caller's request is wrong: INVALID_ARGUMENT (reason INVALID_FIELD), the field
 * named first ("stop[2] must not be empty"), so every API can rename it to its callers' spelling.
 */
export function invalidField(field: string, problem: string): GatewayError {
  return new GatewayError("invalid_argument", `${field} ${problem}`, { reason: "INVALID_FIELD" });
}
