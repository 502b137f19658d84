import { GatewayError } from "../errors/gateway-error.js";
import type { ChatRequest } from "./provider.js";

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

/**
 * What Anthropic's Messages API and Bedrock's Converse both have no place for: OpenAI's `minimal`
 * effort (their levels are low, medium and high), and json_object (their structured outputs take
 * a schema, whose objects must say `additionalProperties: false`, so none allows any object).
 */
export function refuseMinimalEffortAndJsonObject(request: ChatRequest, provider: string): void {
  if (request.reasoningEffort === "minimal")
    throw unsupported(provider, "reasoning_effort minimal", "its effort levels are low, medium and high");
  if (request.responseFormat?.type === "json_object")
    throw unsupported(
      provider,
      "response_format json_object",
      "its structured outputs need a JSON schema: use json_schema",
    );
}
