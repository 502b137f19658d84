import { GatewayError } from "../errors/gateway-error.js";
import type { ChatRequest } from "../providers/provider.js";

export const MAX_TOKENS_LIMIT = 1_000_000;
const MAX_STOP_SEQUENCES = 4;

export interface ValidationLimits {
  /** server.max_request_bytes: the most text (messages, system, stop) one request may carry. */
  maxRequestBytes: number;
}

/** What a caller asks for, whichever API it came through (GenerateRequest fits it as it is). */
export interface GenerationInput {
  model: string;
  messages: { role: string; content: string }[];
  system?: string | undefined;
  maxTokens?: number | undefined;
  temperature?: number | undefined;
  topP?: number | undefined;
  stop: string[];
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
