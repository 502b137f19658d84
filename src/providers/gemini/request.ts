import { invalidField } from "../../errors/gateway-error.js";
import { parseDataUrl } from "../data-url.js";
import type { ChatMessage, ChatRequest, ContentPart, ResponseFormat, ToolDefinition } from "../provider.js";
import { toolInput } from "../tool-input.js";
import { toTurns } from "../turns.js";
import { unsupported } from "../unsupported-field.js";

type Part = Record<string, unknown>;

/** The thought signature Google documents for a function call whose own signature is not there. */
const UNSIGNED_CALL = "skip_thought_signature_validator";
type AssistantMessage = Extract<ChatMessage, { role: "assistant" }>;
type ToolMessage = Extract<ChatMessage, { role: "tool" }>;

/**
 * The body of `models/{model}:generateContent` (and `:streamGenerateContent`, whose body is the
 * same): `contents` of user and model turns, the system prompt as `systemInstruction`, sampling in
 * `generationConfig`, unset fields left out. Throws GatewayError("invalid_argument") for what the
 * Gemini API cannot take.
 */
export function generateContentBody(request: ChatRequest, provider: string): string {
  refuseUnsupported(request, provider);
  const generationConfig = {
    maxOutputTokens: request.maxTokens,
    temperature: request.temperature,
    topP: request.topP,
    stopSequences: request.stop.length > 0 ? request.stop : undefined,
    seed: request.seed,
    ...(request.responseFormat ? responseFormat(request.responseFormat) : {}),
    thinkingConfig: thinkingConfig(request),
  };
  const callNames = new Map(
    request.messages.flatMap((m) => (m.role === "assistant" ? m.toolCalls.map((c) => [c.id, c.name]) : [])),
  );
  const userParts = (parts: ContentPart[], at: number) =>
    parts.flatMap((part, j) => toParts(part, `messages[${at}].content[${j}]`, provider));
  const contents = toTurns<Part, Part[]>(request.messages, {
    toolResult: (message, at) => functionResponse(message, callNames, at, provider),
    userBlocks: userParts,
    user: userParts,
    assistant: (message, at) => modelParts(message, at, provider),
  })
    // An empty turn (a message of empty text) says nothing, and Gemini refuses a turn without parts.
    .filter((turn) => turn.content.length > 0)
    .map((turn) => ({ role: turn.role === "assistant" ? "model" : "user", parts: turn.content }));
  return JSON.stringify({
    contents,
    systemInstruction: request.system ? { parts: [{ text: request.system }] } : undefined,
    tools: request.tools.length > 0 ? [{ functionDeclarations: request.tools.map(declaration) }] : undefined,
    toolConfig: toolConfig(request),
    generationConfig: Object.values(generationConfig).some((v) => v !== undefined)
      ? generationConfig
      : undefined,
  });
}

/**
 * Gemini has no end-user field, and no switch that keeps function calls one at a time. A thinking
 * level and a thinking budget together are an error there: one or the other.
 */
function refuseUnsupported(request: ChatRequest, provider: string): void {
  if (request.user !== undefined)
    throw unsupported(provider, "user", "the Gemini API has no field for the end user");
  if (request.parallelToolCalls === false)
    throw unsupported(provider, "parallel_tool_calls false", "Gemini has no switch for one call at a time");
  if (request.reasoningEffort !== undefined && request.reasoningBudgetTokens !== undefined)
    throw unsupported(
      provider,
      "reasoning_effort with reasoning_budget_tokens",
      "Gemini takes a thinking level or a thinking budget, not both",
    );
}

/** A JSON answer is `responseMimeType` application/json, held to a JSON Schema by `responseJsonSchema`. */
function responseFormat(format: ResponseFormat): Part {
  if (format.type === "text") return { responseMimeType: "text/plain" };
  if (format.type === "json_object") return { responseMimeType: "application/json" };
  // responseJsonSchema takes JSON Schema as written; responseSchema only an OpenAPI subset of it.
  return { responseMimeType: "application/json", responseJsonSchema: format.schema };
}

/** Effort is Gemini 3's thinkingLevel, a budget Gemini 2.5's thinkingBudget; either asks for the thoughts. */
function thinkingConfig(request: ChatRequest): Part | undefined {
  if (request.reasoningEffort !== undefined)
    return { thinkingLevel: request.reasoningEffort.toUpperCase(), includeThoughts: true };
  if (request.reasoningBudgetTokens !== undefined)
    return { thinkingBudget: request.reasoningBudgetTokens, includeThoughts: true };
  return undefined;
}

/** parametersJsonSchema takes the tool's JSON Schema as written (`parameters` only an OpenAPI subset). */
function declaration(tool: ToolDefinition): Part {
  return {
    name: tool.name,
    ...(tool.description !== undefined ? { description: tool.description } : {}),
    parametersJsonSchema: tool.parameters,
  };
}

/**
 * The tool choice as a functionCallingConfig mode. A strict tool asks for calls held to its
 * schema: that is VALIDATED where the model may also answer in text (ANY already constrains).
 */
function toolConfig(request: ChatRequest): Part | undefined {
  const choice = request.toolChoice;
  const strict = request.tools.some((tool) => tool.strict);
  const config = (mode: string, names?: string[]) => ({
    functionCallingConfig: { mode, ...(names ? { allowedFunctionNames: names } : {}) },
  });
  switch (choice?.type) {
    case undefined:
      return strict ? config("VALIDATED") : undefined;
    case "auto":
      return config(strict ? "VALIDATED" : "AUTO");
    case "none":
      return config("NONE");
    case "required":
      return config("ANY");
    case "tool":
      return config("ANY", [choice.name]);
  }
}

/** Empty text is refused by the API, and says nothing. */
function toParts(part: ContentPart, field: string, provider: string): Part[] {
  if (part.type === "text") return part.text === "" ? [] : [{ text: part.text }];
  const { image } = part;
  const inline = "base64" in image ? image : parseDataUrl(image.url);
  if (inline) return [{ inlineData: { mimeType: inline.mediaType, data: inline.base64 } }];
  const url = (image as { url: string }).url;
  const mimeType = imageTypeOf(url);
  if (mimeType === undefined)
    throw unsupported(
      provider,
      `an image URL whose type its name does not tell (${field})`,
      "fileData needs the media type: send the image inline or as a data: URL",
    );
  return [{ fileData: { mimeType, fileUri: url } }];
}

/** The image types Gemini reads, by the URL path's extension. */
const IMAGE_TYPES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  heic: "image/heic",
  heif: "image/heif",
};

function imageTypeOf(url: string): string | undefined {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const extension = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase();
  return extension === undefined ? undefined : IMAGE_TYPES[extension];
}

/**
 * A tool result as a functionResponse part. Gemini answers a call by its function's name, which
 * the result does not carry: it is the name of the call with its id, in an assistant turn. The
 * text goes as `output`, or `error` when the tool failed, the keys Gemini documents.
 */
function functionResponse(
  message: ToolMessage,
  callNames: Map<string, string>,
  at: number,
  provider: string,
): Part {
  const name = callNames.get(message.toolCallId);
  if (name === undefined)
    throw invalidField(
      `messages[${at}].tool_call_id`,
      `names no tool call of an assistant turn (${message.toolCallId}), and Gemini answers a call by its name`,
    );
  const text = message.content
    .map((part, j) => {
      if (part.type === "image")
        throw unsupported(
          provider,
          `an image in a tool result (messages[${at}].content[${j}])`,
          "a functionResponse holds JSON",
        );
      return part.text;
    })
    .join("");
  return {
    functionResponse: {
      id: message.toolCallId,
      name,
      response: message.isError ? { error: text } : { output: text },
    },
  };
}

/**
 * A model turn: its text, then its function calls. Thought text is not sent back (Gemini keeps
 * no use for it), but thought signatures are, on the parts they came with as Gemini places them:
 * the turn's function calls in order (Gemini 3 signs the first), or else its last part.
 */
function modelParts(message: AssistantMessage, at: number, provider: string): Part[] {
  const parts = message.content.flatMap((part, j) =>
    toParts(part, `messages[${at}].content[${j}]`, provider),
  );
  const calls: Part[] = message.toolCalls.map((call, j) => ({
    functionCall: {
      id: call.id,
      name: call.name,
      args: toolInput(call.arguments, `messages[${at}].tool_calls[${j}].arguments (tool call ${call.id})`),
    },
  }));
  const signatures = message.reasoning.flatMap((block) => (block.signature ? [block.signature] : []));
  if (calls.length > 0) {
    // Gemini 3 refuses function calls of the current turn sent back without their signature, as
    // calls relayed through the OpenAI API or begun by another model are: Google's documented
    // stand-in lets them through.
    if (signatures.length === 0) signatures.push(UNSIGNED_CALL);
    signatures.forEach((signature, j) => {
      const call = calls[j];
      if (call) call.thoughtSignature = signature;
    });
  } else if (signatures.length > 0) {
    const signature = signatures.at(-1);
    const last = parts.at(-1);
    if (last) last.thoughtSignature = signature;
    else parts.push({ text: "", thoughtSignature: signature });
  }
  return [...parts, ...calls];
}
