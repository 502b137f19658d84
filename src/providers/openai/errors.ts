import { GatewayError } from "../../errors/gateway-error.js";
import { classifyStatus } from "../http-status.js";
import { redactSecrets } from "../redact-secrets.js";

interface OpenAIErrorBody {
  error?: { message?: string; type?: string; code?: string | number | null } | string;
}

/** An HTTP error answer of an OpenAI-compatible API, as a GatewayError with its status. */
export function httpError(status: number, bodyText: string, providerName: string): GatewayError {
  const { kind, retryable } = classifyStatus(status);
  const detail = describe(bodyText) ?? `HTTP ${status}`;
  return new GatewayError(kind, `${providerName}: ${redactSecrets(detail)} (HTTP ${status})`, {
    retryable,
    status,
    reason: `UPSTREAM_HTTP_${status}`,
  });
}

/** An `error` object sent inside an otherwise successful stream. */
export function streamError(error: unknown, providerName: string): GatewayError {
  const message =
    typeof error === "object" && error !== null ? (error as { message?: unknown }).message : error;
  return new GatewayError(
    "unavailable",
    `${providerName}: ${redactSecrets(String(message ?? "error in stream"))}`,
    {
      reason: "UPSTREAM_STREAM_ERROR",
    },
  );
}

function describe(bodyText: string): string | undefined {
  try {
    const body = JSON.parse(bodyText) as OpenAIErrorBody;
    if (typeof body.error === "string") return body.error;
    return body.error?.message || undefined;
  } catch {
    const text = bodyText.trim().slice(0, 200);
    return text === "" ? undefined : text;
  }
}
