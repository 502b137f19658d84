import type { ErrorKind } from "../errors/gateway-error.js";

/** What an upstream HTTP status means for the caller, and whether another attempt may help. */
export function classifyStatus(status: number): { kind: ErrorKind; retryable: boolean } {
  if (status === 400 || status === 413 || status === 422)
    return { kind: "invalid_argument", retryable: false };
  if (status === 401) return { kind: "unauthenticated", retryable: false };
  if (status === 403) return { kind: "permission_denied", retryable: false };
  if (status === 404) return { kind: "not_found", retryable: false };
  if (status === 408) return { kind: "deadline_exceeded", retryable: true };
  if (status === 429) return { kind: "resource_exhausted", retryable: true };
  if (status === 500 || status === 502 || status === 503 || status === 504 || status === 529) {
    return { kind: "unavailable", retryable: true };
  }
  return { kind: status >= 500 ? "unavailable" : "internal", retryable: false };
}
