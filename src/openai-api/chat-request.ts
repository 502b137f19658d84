import { z } from "zod";
import { ReasoningEffort, ToolChoiceMode } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { invalidField } from "../errors/gateway-error.js";
import type { GenerationInput, InputTool } from "../service/validate-request.js";
import { inputMessageOf } from "./chat-messages.js";
import { notCarried, parseField, typeOf } from "./invalid-field.js";

/** A JSON object, passed through as it came: its keys keep their order when it is written again. */
const JsonObject = z.custom<Record<string, unknown>>(
  (value) => typeof value === "object" && value !== null && !Array.isArray(value),
  "must be a JSON object",
);

/** The parts of an OpenAI chat completion request the gateway honours; see NOT_CARRIED for the rest. */
const ChatCompletionRequest = z.looseObject({
  model: z.string(),
  messages: z.array(z.unknown()),
  max_tokens: z.number().int().nullish(),
  max_completion_tokens: z.number().int().nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  n: z.number().int().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  tools: z.array(z.unknown()).nullish(),
  tool_choice: z.unknown().optional(),
  parallel_tool_calls: z.boolean().nullish(),
  response_format: z.unknown().optional(),
  reasoning_effort: z.string().nullish(),
  seed: z.number().int().nullish(),
  user: z.string().nullish(),
});

const FunctionTool = z.looseObject({
  type: z.literal("function"),
  function: z.looseObject({
    name: z.string(),
    description: z.string().nullish(),
    parameters: JsonObject.nullish(),
    strict: z.boolean().nullish(),
  }),
});

const NamedToolChoice = z.looseObject({
  type: z.literal("function"),
  function: z.looseObject({ name: z.string() }),
});

const JsonSchemaFormat = z.looseObject({
  type: z.literal("json_schema"),
  json_schema: z.looseObject({
    name: z.string(),
    description: z.string().nullish(),
    schema: JsonObject,
    strict: z.boolean().nullish(),
  }),
});

const TOOL_CHOICE_MODES: Record<string, ToolChoiceMode> = {
  auto: ToolChoiceMode.AUTO,
  none: ToolChoiceMode.NONE,
  required: ToolChoiceMode.REQUIRED,
};

const REASONING_EFFORTS: Record<string, ReasoningEffort> = {
  minimal: ReasoningEffort.MINIMAL,
  low: ReasoningEffort.LOW,
  medium: ReasoningEffort.MEDIUM,
  high: ReasoningEffort.HIGH,
};

/**
 * Fields that would change the answer and that the gateway does not carry: refused when set to
 * anything but their default, never dropped silently. Hints about billing, storage or caching
 * (`store`, `metadata`, `service_tier`, `prompt_cache_key`, `safety_identifier`, ...) are ignored.
 */
const NOT_CARRIED: [field: string, isSet: (value: unknown) => boolean, problem: string][] = [
  ["n", (v) => v != null && v !== 1, "must be 1: this gateway returns one choice"],
  ["logprobs", (v) => v === true, "must be false: log probabilities are not supported"],
  ["top_logprobs", (v) => v != null && v !== 0, "must be absent: log probabilities are not supported"],
  ["frequency_penalty", (v) => v != null && v !== 0, "must be 0: it is not supported"],
  ["presence_penalty", (v) => v != null && v !== 0, "must be 0: it is not supported"],
  ["logit_bias", (v) => v != null && Object.keys(v).length > 0, "must be empty: it is not supported"],
  ["audio", (v) => v != null, "is not supported: audio is not carried"],
  [
    "modalities",
    (v) => Array.isArray(v) && v.some((m) => m !== "text"),
    'must be ["text"]: audio is not carried',
  ],
  ["prediction", (v) => v != null, "is not supported"],
  ["web_search_options", (v) => v != null, "is not supported"],
  ["verbosity", (v) => v != null, "is not supported"],
  ["moderation", (v) => v != null, "is not supported"],
  ["functions", (v) => v != null, "are not supported: send tools instead"],
  ["function_call", (v) => v != null, "is not supported: send tool_choice instead"],
];

export interface ParsedChatRequest {
  input: GenerationInput;
  stream: boolean;
  includeUsage: boolean;
}

/** Reads a request body into the gateway's GenerationInput; the field is named in any error. */
export function parseChatRequest(body: string): ParsedChatRequest {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw invalidField("body", "is not valid JSON");
  }
  const request = parseField(ChatCompletionRequest, json, "");
  for (const [field, isSet, problem] of NOT_CARRIED) {
    if (isSet(request[field])) throw invalidField(field, problem);
  }
  const stop = typeof request.stop === "string" ? [request.stop] : (request.stop ?? []);
  return {
    input: {
      model: request.model,
      messages: request.messages.map(inputMessageOf),
      maxTokens: request.max_completion_tokens ?? request.max_tokens ?? undefined,
      temperature: request.temperature ?? undefined,
      topP: request.top_p ?? undefined,
      stop,
      tools: request.tools?.map(toolOf),
      toolChoice: toolChoiceOf(request.tool_choice),
      parallelToolCalls: request.parallel_tool_calls ?? undefined,
      responseFormat: responseFormatOf(request.response_format),
      reasoningEffort: reasoningEffortOf(request.reasoning_effort),
      seed: request.seed == null ? undefined : BigInt(request.seed),
      user: request.user ?? undefined,
    },
    stream: request.stream === true,
    includeUsage: request.stream_options?.include_usage === true,
  };
}

function toolOf(tool: unknown, i: number): InputTool {
  const field = `tools[${i}]`;
  const type = typeOf(tool);
  if (type !== "function") throw invalidField(field, `must be a function tool: ${notCarried(type, "tools")}`);
  const { function: fn } = parseField(FunctionTool, tool, field);
  return {
    name: fn.name,
    description: fn.description ?? undefined,
    parametersJson: fn.parameters == null ? undefined : JSON.stringify(fn.parameters),
    strict: fn.strict ?? undefined,
  };
}

function toolChoiceOf(choice: unknown): GenerationInput["toolChoice"] {
  if (choice == null) return undefined;
  if (typeof choice === "string") {
    const mode = TOOL_CHOICE_MODES[choice];
    if (mode === undefined)
      throw invalidField("tool_choice", `must be "auto", "none", "required" or a function, not "${choice}"`);
    return { choice: { case: "mode", value: mode } };
  }
  const type = typeOf(choice);
  if (type !== "function")
    throw invalidField(
      "tool_choice",
      `must be "auto", "none", "required" or a function: ${notCarried(type, "choices")}`,
    );
  const named = parseField(NamedToolChoice, choice, "tool_choice");
  return { choice: { case: "toolName", value: named.function.name } };
}

function responseFormatOf(format: unknown): GenerationInput["responseFormat"] {
  if (format == null) return undefined;
  const type = typeOf(format);
  if (type === "text") return { format: { case: "text", value: true } };
  if (type === "json_object") return { format: { case: "jsonObject", value: true } };
  if (type !== "json_schema")
    throw invalidField(
      "response_format.type",
      `must be "text", "json_object" or "json_schema", not ${JSON.stringify(type ?? null)}`,
    );
  const { json_schema: schema } = parseField(JsonSchemaFormat, format, "response_format");
  return {
    format: {
      case: "jsonSchema",
      value: {
        name: schema.name,
        schemaJson: JSON.stringify(schema.schema),
        description: schema.description ?? undefined,
        strict: schema.strict ?? undefined,
      },
    },
  };
}

function reasoningEffortOf(effort: string | null | undefined): ReasoningEffort | undefined {
  if (effort == null) return undefined;
  const value = REASONING_EFFORTS[effort];
  if (value === undefined)
    throw invalidField("reasoning_effort", `must be "minimal", "low", "medium" or "high", not "${effort}"`);
  return value;
}
