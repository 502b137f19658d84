import { Code, ConnectError } from "@connectrpc/connect";
import { type ErrorKind, GatewayError } from "../errors/gateway-error.js";

const CODES: Record<ErrorKind, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  resource_exhausted: Code.ResourceExhausted,
  failed_precondition: Code.FailedPrecondition,
  unavailable: Code.Unavailable,
  deadline_exceeded: Code.DeadlineExceeded,
  cancelled: Code.Canceled,
  internal: Code.Internal,
};

/** What a caller reads of an error the gateway did not expect: a bug of ours, logged whole, told to nobody. */
export const UNEXPECTED_ERROR_MESSAGE = "internal error";

/**
 * The one place an error becomes a Connect error. A caller's cancel or deadline wins over
 * whatever it caused below; an unexpected error is INTERNAL with no stack or detail on the wire.
 */
export function toConnectError(error: unknown, signal?: AbortSignal): ConnectError {
  if (signal?.aborted && signal.reason instanceof ConnectError) return signal.reason;
  if (error instanceof ConnectError) return error;
  if (error instanceof GatewayError) {
    const connectError = new ConnectError(error.message, CODES[error.kind]);
    for (const [name, value] of Object.entries(error.headers ?? {})) connectError.metadata.set(name, value);
    if (error.reason) connectError.metadata.set("weaver-error-reason", error.reason);
    if (error.retryAfterMs !== undefined) {
      connectError.metadata.set("retry-after", String(Math.ceil(error.retryAfterMs / 1000)));
      connectError.metadata.set("retry-after-ms", String(Math.round(error.retryAfterMs)));
    }
    return connectError;
  }
  return new ConnectError(UNEXPECTED_ERROR_MESSAGE, Code.Internal, undefined, undefined, error);
}
