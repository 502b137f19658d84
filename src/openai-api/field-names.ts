import { GatewayError } from "../errors/gateway-error.js";

/**
 * The contract's field names that an OpenAI request spells otherwise, as validateRequest names
 * them; messages and tools keep their indexes, since parseChatRequest maps them one to one.
 */
const OPENAI_NAMES: [contract: RegExp, openai: string][] = [
  [/^(messages\[\d+\])\.parts(\[\d+\])\.image\.url$/, "$1.content$2.image_url.url"],
  [/^(messages\[\d+\])\.parts(\[\d+\])\.image$/, "$1.content$2.image_url"],
  [/^(messages\[\d+\])\.parts(\[\d+\])?$/, "$1.content$2"],
  [/^(messages\[\d+\]\.tool_calls\[\d+\])\.(name|arguments)$/, "$1.function.$2"],
  [/^(tools\[\d+\])\.name$/, "$1.function.name"],
  [/^(tools\[\d+\])\.parameters_json$/, "$1.function.parameters"],
  [/^tool_choice\.tool_name$/, "tool_choice.function.name"],
  [/^tool_choice\.mode$/, "tool_choice"],
  [/^response_format\.json_schema\.schema_json$/, "response_format.json_schema.schema"],
];

/**
 * A refusal of a field (INVALID_FIELD, the field named first) in the names of the OpenAI request
 * the caller sent: `messages[0].content[1].image_url.url`, not the contract's `parts[1].image.url`.
 */
export function inOpenAINames(error: unknown): unknown {
  if (!(error instanceof GatewayError) || error.reason !== "INVALID_FIELD") return error;
  const space = error.message.indexOf(" ");
  if (space < 0) return error;
  const field = error.message.slice(0, space);
  const rename = OPENAI_NAMES.find(([contract]) => contract.test(field));
  if (rename === undefined) return error;
  const renamed = field.replace(rename[0], rename[1]) + error.message.slice(space);
  return new GatewayError(error.kind, renamed, { reason: error.reason, cause: error });
}
