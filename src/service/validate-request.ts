import { ReasoningEffort, type ToolChoiceMode } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import type { ChatRequest } from "../providers/provider.js";
import { invalid } from "./invalid-field.js";
import { RequestSize } from "./request-size.js";
import { validateMessages } from "./validate-messages.js";
import { validateTools } from "./validate-tools.js";

export const MAX_TOKENS_LIMIT = 1_000_000;
const MAX_STOP_SEQUENCES = 4;
/** The smallest thinking budget Anthropic takes. */
const MIN_REASONING_BUDGET = 1024;

export interface ValidationLimits {
  /** server.max_request_bytes: the most one request may carry (text, images, tool schemas and arguments). */
  maxRequestBytes: number;
}

/**
 * What a caller asks for, whichever API it came through: GenerateRequest's fields, as plain
 * objects (a GenerateRequest fits it as it is; the OpenAI API builds the same from its JSON).
 */
export interface GenerationInput {
  model: string;
  messages: InputMessage[];
  system?: string | undefined;
  maxTokens?: number | undefined;
  temperature?: number | undefined;
  topP?: number | undefined;
  stop: string[];
  tools?: InputTool[] | undefined;
  toolChoice?: { choice: OneOf<{ mode: ToolChoiceMode; toolName: string }> } | undefined;
  parallelToolCalls?: boolean | undefined;
  responseFormat?:
    | { format: OneOf<{ text: boolean; jsonObject: boolean; jsonSchema: InputJsonSchema }> }
    | undefined;
  reasoningEffort?: ReasoningEffort | undefined;
  reasoningBudgetTokens?: number | undefined;
  seed?: bigint | undefined;
  user?: string | undefined;
}

/** A protobuf-es oneof: the case that is set and its value, or none. */
type OneOf<T> =
  | { [K in keyof T]: { case: K; value: T[K] } }[keyof T]
  | { case: undefined; value?: undefined };

export interface InputMessage {
  role: string;
  content: string;
  parts?: { part: OneOf<{ text: string; image: InputImage }> }[] | undefined;
  toolCalls?: { id: string; name: string; arguments: string }[] | undefined;
  toolCallId?: string | undefined;
  isError?: boolean | undefined;
  reasoning?:
    | { text: string; signature?: string | undefined; redactedData?: string | undefined }[]
    | undefined;
}

export interface InputImage {
  source: OneOf<{ url: string; data: Uint8Array }>;
  mediaType: string;
}

export interface InputTool {
  name: string;
  description?: string | undefined;
  parametersJson?: string | undefined;
  strict?: boolean | undefined;
}

export interface InputJsonSchema {
  name: string;
  schemaJson: string;
  description?: string | undefined;
  strict?: boolean | undefined;
}

/**
 * Checks a request and turns it into the provider-neutral ChatRequest (the upstream model is
 * filled in by the router). Every failure is INVALID_ARGUMENT naming the field.
 */
export function validateRequest(
  request: GenerationInput,
  limits: ValidationLimits,
): Omit<ChatRequest, "model"> {
  if (request.model.trim() === "") invalid("model", "is required");
  if (request.messages.length === 0) invalid("messages", "must hold at least one message");
  const size = new RequestSize(limits.maxRequestBytes);
  size.add(request.system);
  const { messages, system } = validateMessages(request.messages, size);
  if (request.system !== undefined) system.unshift(request.system);
  if (request.maxTokens !== undefined && (request.maxTokens < 1 || request.maxTokens > MAX_TOKENS_LIMIT)) {
    invalid("max_tokens", `must be between 1 and ${MAX_TOKENS_LIMIT}, not ${request.maxTokens}`);
  }
  checkRange("temperature", request.temperature, 2);
  checkRange("top_p", request.topP, 1);
  if (request.stop.length > MAX_STOP_SEQUENCES)
    invalid("stop", `holds at most ${MAX_STOP_SEQUENCES} sequences`);
  request.stop.forEach((stop, i) => {
    if (stop === "") invalid(`stop[${i}]`, "must not be empty");
    size.add(stop);
  });
  const tools = validateTools(request, size);
  size.add(request.user);
  size.check();
  return {
    messages,
    ...(system.length > 0 ? { system: system.join("\n\n") } : {}),
    ...(request.maxTokens === undefined ? {} : { maxTokens: request.maxTokens }),
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(request.topP === undefined ? {} : { topP: request.topP }),
    stop: request.stop,
    ...tools,
    ...reasoningOf(request),
    ...(request.seed === undefined ? {} : { seed: seedOf(request.seed) }),
    ...(request.user ? { user: request.user } : {}),
  };
}

function reasoningOf({
  reasoningEffort,
  reasoningBudgetTokens: budget,
  maxTokens,
}: GenerationInput): Pick<ChatRequest, "reasoningEffort" | "reasoningBudgetTokens"> {
  if (budget !== undefined) {
    if (budget < MIN_REASONING_BUDGET)
      invalid("reasoning_budget_tokens", `must be at least ${MIN_REASONING_BUDGET}, not ${budget}`);
    if (maxTokens !== undefined && budget >= maxTokens)
      invalid("reasoning_budget_tokens", `must be below max_tokens (${maxTokens}), not ${budget}`);
  }
  const effort = reasoningEffort === undefined ? undefined : EFFORTS[reasoningEffort];
  return {
    ...(effort ? { reasoningEffort: effort } : {}),
    ...(budget === undefined ? {} : { reasoningBudgetTokens: budget }),
  };
}

const EFFORTS: Record<ReasoningEffort, ChatRequest["reasoningEffort"]> = {
  [ReasoningEffort.UNSPECIFIED]: undefined,
  [ReasoningEffort.MINIMAL]: "minimal",
  [ReasoningEffort.LOW]: "low",
  [ReasoningEffort.MEDIUM]: "medium",
  [ReasoningEffort.HIGH]: "high",
};

function seedOf(seed: bigint): number {
  if (seed > BigInt(Number.MAX_SAFE_INTEGER) || seed < BigInt(Number.MIN_SAFE_INTEGER))
    invalid("seed", `must be a safe integer (at most 2^53 - 1 either way), not ${seed}`);
  return Number(seed);
}

function checkRange(field: string, value: number | undefined, max: number): void {
  if (value !== undefined && !(value >= 0 && value <= max))
    invalid(field, `must be between 0 and ${max}, not ${value}`);
}
