import { invalidField } from "../errors/gateway-error.js";

/**
 * A tool call's arguments as the object APIs that take them parsed want (Anthropic's tool_use
 * input, Bedrock's toolUse input): the model wrote them as JSON text, which must be an object.
 */
export function toolInput(text: string, field: string): Record<string, unknown> {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch {
    throw invalidField(field, "must be a JSON object, and is not JSON");
  }
  if (typeof input !== "object" || input === null || Array.isArray(input))
    throw invalidField(field, "must be a JSON object");
  return input as Record<string, unknown>;
}
