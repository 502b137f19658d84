import { parseDataUrl } from "../data-url.js";
import type { ChatMessage, ChatRequest, ContentPart, ImageSource, ToolChoice } from "../provider.js";
import { toolInput } from "../tool-input.js";
import { toTurns } from "../turns.js";
import { refuseMinimalEffortAndJsonObject, unsupported } from "../unsupported-field.js";

type Block = Record<string, unknown>;

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
    messages: toTurns<Block, string | Block[]>(request.messages, {
      toolResult,
      userBlocks: (parts) => parts.flatMap(toBlocks),
      user: contentOf,
      assistant: assistantContent,
    }),
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

/** `seed` has no Anthropic field; nor have `minimal` effort and json_object. */
function refuseUnsupported(request: ChatRequest, provider: string): void {
  if (request.seed !== undefined) throw unsupported(provider, "seed", "the Messages API has no seed");
  refuseMinimalEffortAndJsonObject(request, provider);
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
  const inline = "base64" in image ? image : parseDataUrl(image.url);
  if (!inline) return { type: "url", url: (image as { url: string }).url };
  return { type: "base64", media_type: inline.mediaType, data: inline.base64 };
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
