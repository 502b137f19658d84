import { GatewayError } from "../errors/gateway-error.js";

/**
 * What the caller asked for that a provider's API has no place for: refused before anything is
 * sent, naming the field and the provider, never dropped.
 */
export function unsupported(provider: string, subject: string, why: string): GatewayError {
  return new GatewayError(
    "invalid_argument",
    `${subject} is not supported by provider ${provider} (${why})`,
    {
      reason: "UNSUPPORTED_FIELD",
    },
  );
}
