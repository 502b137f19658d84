import type { ReasoningEffort, ToolChoiceMode } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { GatewayError } from "../errors/gateway-error.js";
import type { ChatRequest } from "../providers/provider.js";

export const MAX_TOKENS_LIMIT = 1_000_000;
const MAX_STOP_SEQUENCES = 4;

export interface ValidationLimits {
  /** server.max_request_bytes: the most text (messages, system, stop) one request may carry. */
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
  const system: string[] = request.system === undefined ? [] : [request.system];
  const messages: ChatRequest["messages"] = [];
  let textBytes = Buffer.byteLength(request.system ?? "");
  request.messages.forEach(({ role, content }, i) => {
    if (content.trim() === "") invalid(`messages[${i}].content`, "must not be empty");
    textBytes += Buffer.byteLength(content);
    if (role === "system") system.push(content);
    else if (role === "user") messages.push({ role, content: [{ type: "text", text: content }] });
    else if (role === "assistant")
      messages.push({ role, content: [{ type: "text", text: content }], toolCalls: [], reasoning: [] });
    else invalid(`messages[${i}].role`, `must be "user", "assistant" or "system", not "${role}"`);
  });
  if (messages.length === 0) invalid("messages", "must hold a user or assistant message");
  if (request.maxTokens !== undefined && (request.maxTokens < 1 || request.maxTokens > MAX_TOKENS_LIMIT)) {
    invalid("max_tokens", `must be between 1 and ${MAX_TOKENS_LIMIT}, not ${request.maxTokens}`);
  }
  checkRange("temperature", request.temperature, 2);
  checkRange("top_p", request.topP, 1);
  if (request.stop.length > MAX_STOP_SEQUENCES)
    invalid("stop", `holds at most ${MAX_STOP_SEQUENCES} sequences`);
  request.stop.forEach((stop, i) => {
    if (stop === "") invalid(`stop[${i}]`, "must not be empty");
    textBytes += Buffer.byteLength(stop);
  });
  if (textBytes > limits.maxRequestBytes) {
    invalid(
      "messages",
      `carry ${textBytes} bytes of text, over the limit of ${limits.maxRequestBytes} bytes`,
    );
  }
  return {
    messages,
    ...(system.length > 0 ? { system: system.join("\n\n") } : {}),
    ...(request.maxTokens === undefined ? {} : { maxTokens: request.maxTokens }),
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(request.topP === undefined ? {} : { topP: request.topP }),
    stop: request.stop,
    tools: [],
  };
}

function checkRange(field: string, value: number | undefined, max: number): void {
  if (value !== undefined && !(value >= 0 && value <= max))
    invalid(field, `must be between 0 and ${max}, not ${value}`);
}

function invalid(field: string, problem: string): never {
  throw new GatewayError("invalid_argument", `${field} ${problem}`, { reason: "INVALID_FIELD" });
}
