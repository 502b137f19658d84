import { invalidField } from "../../errors/gateway-error.js";
import type { ChatMessage, ChatRequest, ContentPart, ImageSource, ToolChoice } from "../provider.js";
import { unsupported } from "../unsupported-field.js";

type Block = Record<string, unknown>;
interface Turn {
  role: "user" | "assistant";
  content: string | Block[];
}

/**
 * The body of `POST /v1/messages`: the system prompt at the top level, max_tokens always sent,
 * unset fields left out. Throws GatewayError("invalid_argument") for what Anthropic cannot take.
 */
export function messagesBody(
  request: ChatRequest,
  stream: boolean,
  defaultMaxTokens: number,
  provider: string,
): string {
  refuseUnsupported(request, provider);
  // Generally available, with no anthropic-beta header (SDK 1.14's MessageCreateParams). The
  // format has no name or description, and is always held to the schema: `strict` changes nothing.
  const outputConfig = {
    ...(request.reasoningEffort ? { effort: request.reasoningEffort } : {}),
    ...(request.responseFormat?.type === "json_schema"
      ? { format: { type: "json_schema", schema: request.responseFormat.schema } }
      : {}),
  };
  return JSON.stringify({
    model: request.model,
    // A thinking budget counts against max_tokens, which must exceed it: unset, room is made for both.
    max_tokens: request.maxTokens ?? defaultMaxTokens + (request.reasoningBudgetTokens ?? 0),
    messages: toTurns(request.messages),
    system: request.system,
    temperature: request.temperature,
    top_p: request.topP,
    stop_sequences: request.stop.length > 0 ? request.stop : undefined,
    tools: request.tools.length > 0 ? request.tools.map(toTool) : undefined,
    tool_choice: toToolChoice(request.toolChoice, request.parallelToolCalls),
    thinking:
      request.reasoningBudgetTokens === undefined
        ? undefined
        : { type: "enabled", budget_tokens: request.reasoningBudgetTokens },
    metadata: request.user === undefined ? undefined : { user_id: request.user },
    output_config: Object.keys(outputConfig).length > 0 ? outputConfig : undefined,
    ...(stream ? { stream: true } : {}),
  });
}

/**
 * `seed` has no Anthropic field. OpenAI's `minimal` effort has no counterpart in
 * output_config.effort (low, medium, high, ...). json_object has none either: structured outputs
 * take a schema whose objects must say `additionalProperties: false`, so no schema allows any object.
 */
function refuseUnsupported(request: ChatRequest, provider: string): void {
  if (request.seed !== undefined) throw unsupported(provider, "seed", "the Messages API has no seed");
  if (request.reasoningEffort === "minimal")
    throw unsupported(provider, "reasoning_effort minimal", "its effort levels are low, medium and high");
  if (request.responseFormat?.type === "json_object")
    throw unsupported(
      provider,
      "response_format json_object",
      "its structured outputs need a JSON schema: use json_schema",
    );
}

/**
 * The conversation as Messages API turns. Tool results answer in a user turn, before anything
 * else in it: consecutive tool messages and a user message right after them become ONE turn.
 */
function toTurns(messages: ChatMessage[]): Turn[] {
  const turns: Turn[] = [];
  let toolTurn: Block[] | undefined;
  for (const message of messages) {
    if (message.role === "tool") {
      const result = toolResult(message);
      if (toolTurn) toolTurn.push(result);
      else {
        toolTurn = [result];
        turns.push({ role: "user", content: toolTurn });
      }
      continue;
    }
    if (message.role === "user" && toolTurn) toolTurn.push(...message.content.flatMap(toBlocks));
    else if (message.role === "user") turns.push({ role: "user", content: contentOf(message.content) });
    else turns.push({ role: "assistant", content: assistantContent(message) });
    toolTurn = undefined;
  }
  return turns;
}

/** A lone text part goes as a string, as the API allows; anything else as blocks. */
function contentOf(parts: ContentPart[]): string | Block[] {
  const [only] = parts;
  if (parts.length === 1 && only?.type === "text") return only.text;
  return parts.flatMap(toBlocks);
}

/** Empty text blocks are refused by the API, and say nothing. */
function toBlocks(part: ContentPart): Block[] {
  if (part.type === "text") return part.text === "" ? [] : [{ type: "text", text: part.text }];
  return [{ type: "image", source: imageSource(part.image) }];
}

function imageSource(image: ImageSource): Block {
  if ("base64" in image) return { type: "base64", media_type: image.mediaType, data: image.base64 };
  const data = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/s.exec(image.url);
  if (!data) return { type: "url", url: image.url };
  const [, mediaType = "", parameters = "", payload = ""] = data;
  const base64 = parameters.split(";").includes("base64")
    ? payload
    : Buffer.from(decodeURIComponent(payload), "utf8").toString("base64");
  return { type: "base64", media_type: mediaType, data: base64 };
}

function toolResult(message: Extract<ChatMessage, { role: "tool" }>): Block {
  return {
    type: "tool_result",
    tool_use_id: message.toolCallId,
    ...(message.content.length > 0 ? { content: contentOf(message.content) } : {}),
    is_error: message.isError,
  };
}

/** Its reasoning first (sent back as it came, signature and all), then text, then tool calls. */
function assistantContent(message: Extract<ChatMessage, { role: "assistant" }>): string | Block[] {
  if (message.reasoning.length === 0 && message.toolCalls.length === 0) return contentOf(message.content);
  // Unsigned reasoning came from another provider: Anthropic verifies what it takes back, and refuses it.
  const reasoning = message.reasoning.flatMap((block): Block[] =>
    block.redactedData !== undefined
      ? [{ type: "redacted_thinking", data: block.redactedData }]
      : block.signature
        ? [{ type: "thinking", thinking: block.text, signature: block.signature }]
        : [],
  );
  const toolUses = message.toolCalls.map(
    (call, index): Block => ({
      type: "tool_use",
      id: call.id,
      name: call.name,
      input: toolInput(call.arguments, `tool_calls[${index}].arguments (tool call ${call.id})`),
    }),
  );
  return [...reasoning, ...message.content.flatMap(toBlocks), ...toolUses];
}

/** tool_use input is an object; the model wrote it as JSON text. */
function toolInput(text: string, field: string): unknown {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch {
    throw invalidField(field, "must be a JSON object, and is not JSON");
  }
  if (typeof input !== "object" || input === null || Array.isArray(input))
    throw invalidField(field, "must be a JSON object");
  return input;
}

function toTool(tool: ChatRequest["tools"][number]): Block {
  return {
    name: tool.name,
    ...(tool.description !== undefined ? { description: tool.description } : {}),
    input_schema: tool.parameters,
    ...(tool.strict !== undefined ? { strict: tool.strict } : {}),
  };
}

/** parallel_tool_calls false is disable_parallel_tool_use, which `none` does not take. */
function toToolChoice(choice: ToolChoice | undefined, parallel: boolean | undefined): Block | undefined {
  if (choice?.type === "none") return { type: "none" };
  const serial = parallel === false ? { disable_parallel_tool_use: true } : {};
  if (choice === undefined) return parallel === false ? { type: "auto", ...serial } : undefined;
  if (choice.type === "tool") return { type: "tool", name: choice.name, ...serial };
  return { type: choice.type === "required" ? "any" : "auto", ...serial };
}
