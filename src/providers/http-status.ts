import type { ErrorKind } from "../errors/gateway-error.js";

/**
 * What an upstream HTTP status means for the caller, and whether another attempt (here or at
 * another deployment) may help. The one table every provider's errors go through.
 */
export function classifyStatus(status: number): { kind: ErrorKind; retryable: boolean } {
  switch (status) {
    case 400:
    case 413:
    case 422:
      return { kind: "invalid_argument", retryable: false };
    case 401:
      return { kind: "unauthenticated", retryable: false };
    case 402:
    case 403:
      return { kind: "permission_denied", retryable: false };
    case 404:
      return { kind: "not_found", retryable: false };
    case 408:
    case 504:
      return { kind: "deadline_exceeded", retryable: true };
    case 429:
      return { kind: "resource_exhausted", retryable: true };
    case 500:
      return { kind: "internal", retryable: true };
    case 502:
    case 503:
    case 529:
      return { kind: "unavailable", retryable: true };
    default:
      // Never UNKNOWN: another 4xx is the request's fault, anything else the upstream's.
      return { kind: status >= 400 && status < 500 ? "invalid_argument" : "unavailable", retryable: false };
  }
}
