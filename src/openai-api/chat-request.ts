import { z } from "zod";
import { GatewayError } from "../errors/gateway-error.js";
import type { GenerationInput } from "../service/validate-request.js";

const TextPart = z.object({ type: z.literal("text"), text: z.string() });

const Message = z.object({
  role: z.string(),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() })), z.null()]),
});

/** The parts of an OpenAI chat completion request the gateway honours; other fields are ignored. */
const ChatCompletionRequest = z.looseObject({
  model: z.string(),
  messages: z.array(Message),
  max_tokens: z.number().int().nullish(),
  max_completion_tokens: z.number().int().nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  n: z.number().int().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  tools: z.array(z.unknown()).nullish(),
});

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
    throw invalid("body", "is not valid JSON");
  }
  const result = ChatCompletionRequest.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw invalid(
      issue?.path.join(".") || "body",
      issue ? problemOf(issue) : "is not a chat completion request",
    );
  }
  const request = result.data;
  if ((request.n ?? 1) !== 1) throw invalid("n", "must be 1: this gateway returns one choice");
  if (request.tools?.length) throw invalid("tools", "are not supported by this gateway yet");
  const messages = request.messages.map((message, i) => ({
    // "developer" is the newer name for "system".
    role: message.role === "developer" ? "system" : message.role,
    content: textOf(message.content, i),
  }));
  const stop = typeof request.stop === "string" ? [request.stop] : (request.stop ?? []);
  return {
    input: {
      model: request.model,
      messages,
      maxTokens: request.max_completion_tokens ?? request.max_tokens ?? undefined,
      temperature: request.temperature ?? undefined,
      topP: request.top_p ?? undefined,
      stop,
    },
    stream: request.stream === true,
    includeUsage: request.stream_options?.include_usage === true,
  };
}

function textOf(content: z.output<typeof Message>["content"], index: number): string {
  if (typeof content === "string") return content;
  if (content === null) return "";
  return content
    .map((part, p) => {
      const text = TextPart.safeParse(part);
      if (!text.success)
        throw invalid(
          `messages[${index}].content[${p}]`,
          "must be a text part: images and audio are not supported yet",
        );
      return text.data.text;
    })
    .join("");
}

/**
 * What is wrong with a field, read on from its name: "model is required", "temperature is invalid:
 * expected number, received string". Our own messages already read that way; zod's do not.
 */
function problemOf(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type" && / received undefined$/.test(issue.message)) return "is required";
  if (!/^[A-Z]/.test(issue.message)) return issue.message;
  return `is invalid: ${issue.message.replace(/^Invalid input: /, "")}`;
}

function invalid(field: string, problem: string): GatewayError {
  return new GatewayError("invalid_argument", `${field} ${problem}`, { reason: "INVALID_FIELD" });
}
