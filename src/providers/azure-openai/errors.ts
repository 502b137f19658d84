import type { IncomingHttpHeaders } from "node:http";
import type { GatewayError } from "../../errors/gateway-error.js";
import { parseErrorBody, upstreamHttpError } from "../upstream-http-error.js";

/**
 * Azure's error body: OpenAI's shape, but the `code` says what (`content_filter`,
 * `DeploymentNotFound`, or the status again as a string) and a content filter's refusal says why
 * in `innererror`.
 */
interface AzureError {
  code?: unknown;
  type?: unknown;
  message?: unknown;
  innererror?: {
    code?: unknown;
    content_filter_result?: Record<string, { filtered?: unknown } | undefined>;
  };
}

/** An HTTP error answer of Azure OpenAI: `azure content_filter/ResponsibleAIPolicyViolation: ... [filtered: hate] (HTTP 400)`. */
export function httpError(
  status: number,
  bodyText: string,
  headers: IncomingHttpHeaders,
  provider: string,
): GatewayError {
  const body = parseErrorBody(bodyText) as { error?: AzureError; message?: unknown } | undefined;
  const error = body?.error ?? (body as AzureError | undefined);
  const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined);
  // A code that only repeats the status ("429") says nothing the status does not.
  const code = text(error?.code)?.match(/^\d+$/) ? undefined : text(error?.code);
  const type = [code ?? text(error?.type), text(error?.innererror?.code)].filter(Boolean).join("/");
  const filtered = Object.entries(error?.innererror?.content_filter_result ?? {})
    .filter(([, result]) => result?.filtered === true)
    .map(([category]) => category);
  const message = [
    text(error?.message),
    filtered.length > 0 ? `[filtered: ${filtered.join(", ")}]` : undefined,
  ]
    .filter(Boolean)
    .join(" ");
  return upstreamHttpError({
    provider,
    status,
    ...(type ? { type } : {}),
    ...(message ? { message } : {}),
    headers,
  });
}
