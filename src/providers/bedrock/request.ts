import { invalidField } from "../../errors/gateway-error.js";
import { parseDataUrl } from "../data-url.js";
import type { ChatMessage, ChatRequest, ContentPart, ImageSource, ToolDefinition } from "../provider.js";
import { toolInput } from "../tool-input.js";
import { toTurns } from "../turns.js";
import { refuseMinimalEffortAndJsonObject, unsupported } from "../unsupported-field.js";

type Block = Record<string, unknown>;

/** The image formats Converse takes (SDK 3.1164's ImageFormat), by media type. */
const IMAGE_FORMATS: Record<string, string> = {
  "image/png": "png",
  "image/jpeg": "jpeg",
  "image/jpg": "jpeg",
  "image/gif": "gif",
  "image/webp": "webp",
};

/** What requestMetadata's keys and values may hold; Bedrock refuses anything else. */
const METADATA_VALUE = /^[a-zA-Z0-9\s:_@$#=/+,.-]{0,256}$/;

/**
 * The body of `POST /model/{modelId}/converse` (and `/converse-stream`, the same body): the model
 * is in the path, unset fields are left out. Throws GatewayError("invalid_argument") for what
 * Converse cannot take.
 */
export function converseBody(request: ChatRequest, provider: string): string {
  refuseUnsupported(request, provider);
  const inference = {
    maxTokens: request.maxTokens,
    temperature: request.temperature,
    topP: request.topP,
    stopSequences: request.stop.length > 0 ? request.stop : undefined,
  };
  // Generally available in Converse: structured output, held to the schema whatever `strict` says.
  const format = request.responseFormat;
  const outputConfig = {
    ...(request.reasoningEffort ? { effort: request.reasoningEffort } : {}),
    ...(format?.type === "json_schema"
      ? {
          textFormat: {
            type: "json_schema",
            structure: {
              jsonSchema: {
                schema: JSON.stringify(format.schema),
                name: format.name,
                description: format.description,
              },
            },
          },
        }
      : {}),
  };
  const userBlocks = (parts: ContentPart[], at: number) => blocks(parts, `messages[${at}]`, provider);
  const messages = toTurns<Block, Block[]>(request.messages, {
    toolResult: (message, at) => toolResult(message, `messages[${at}]`, provider),
    userBlocks,
    user: userBlocks,
    assistant: (message, at) => assistantContent(message, `messages[${at}]`, provider),
  })
    // A turn of empty text says nothing, and Converse refuses a turn without content.
    .filter((turn) => turn.content.length > 0);
  return JSON.stringify({
    messages,
    // Converse refuses a blank text block, and an empty system prompt says nothing.
    system: request.system ? [{ text: request.system }] : undefined,
    inferenceConfig: Object.values(inference).some((v) => v !== undefined) ? inference : undefined,
    toolConfig: toolConfig(request, provider),
    outputConfig: Object.keys(outputConfig).length > 0 ? outputConfig : undefined,
    // Converse has no thinking field of its own: Claude on Bedrock takes Anthropic's, passed through.
    additionalModelRequestFields:
      request.reasoningBudgetTokens === undefined
        ? undefined
        : { thinking: { type: "enabled", budget_tokens: request.reasoningBudgetTokens } },
    requestMetadata: request.user === undefined ? undefined : { user: request.user },
  });
}

/**
 * `seed` and `parallel_tool_calls: false` have no Converse field; nor have `minimal` effort and
 * json_object. `user` goes in requestMetadata, whose values Bedrock restricts to a few characters.
 */
function refuseUnsupported(request: ChatRequest, provider: string): void {
  if (request.seed !== undefined) throw unsupported(provider, "seed", "Converse has no seed");
  if (request.parallelToolCalls === false)
    throw unsupported(provider, "parallel_tool_calls false", "Converse cannot turn parallel calls off");
  refuseMinimalEffortAndJsonObject(request, provider);
  if (request.user !== undefined && !METADATA_VALUE.test(request.user))
    throw invalidField(
      "user",
      `must be at most 256 letters, digits, spaces and :_@$#=/+,.- for provider ${provider} (Bedrock's requestMetadata)`,
    );
}

/** Text and images; empty text says nothing and Converse refuses it. */
function blocks(parts: ContentPart[], field: string, provider: string): Block[] {
  return parts.flatMap((part, j): Block[] => {
    if (part.type === "text") return part.text === "" ? [] : [{ text: part.text }];
    return [{ image: image(part.image, `${field}.content[${j}]`, provider) }];
  });
}

/** Converse takes an image as its bytes (base64 in JSON) and format: a data: URL, never a link. */
function image(source: ImageSource, field: string, provider: string): Block {
  const inline = "base64" in source ? source : parseDataUrl(source.url);
  if (!inline)
    throw unsupported(provider, `an image by URL (${field})`, "Converse takes image bytes: send a data: URL");
  const format = IMAGE_FORMATS[inline.mediaType.toLowerCase()];
  if (!format)
    throw unsupported(
      provider,
      `an image of type ${inline.mediaType || "(none)"} (${field})`,
      "Converse takes png, jpeg, gif and webp",
    );
  return { format, source: { bytes: inline.base64 } };
}

function toolResult(message: Extract<ChatMessage, { role: "tool" }>, field: string, provider: string): Block {
  return {
    toolResult: {
      toolUseId: message.toolCallId,
      content: blocks(message.content, field, provider),
      // Only Claude and Nova take a status: sent when it says something.
      ...(message.isError ? { status: "error" } : {}),
    },
  };
}

/**
 * Its reasoning first (sent back as it came, signature and all), then text, then tool calls.
 * Unsigned reasoning came from another provider: Claude verifies what it takes back, and refuses it.
 */
function assistantContent(
  message: Extract<ChatMessage, { role: "assistant" }>,
  field: string,
  provider: string,
): Block[] {
  const reasoning = message.reasoning.flatMap((block): Block[] =>
    block.redactedData !== undefined
      ? [{ reasoningContent: { redactedContent: block.redactedData } }]
      : block.signature
        ? [{ reasoningContent: { reasoningText: { text: block.text, signature: block.signature } } }]
        : [],
  );
  const toolUses = message.toolCalls.map(
    (call, index): Block => ({
      toolUse: {
        toolUseId: call.id,
        name: call.name,
        input: toolInput(call.arguments, `tool_calls[${index}].arguments (tool call ${call.id})`),
      },
    }),
  );
  return [...reasoning, ...blocks(message.content, field, provider), ...toolUses];
}

/**
 * The tools and the choice among them. Converse has no `none`: with no tool calls in the
 * conversation, leaving the tools out is the same; with some, Converse needs its toolConfig.
 */
function toolConfig(request: ChatRequest, provider: string): Block | undefined {
  const choice = request.toolChoice;
  const toolHistory = request.messages.some(
    (m) => m.role === "tool" || (m.role === "assistant" && m.toolCalls.length > 0),
  );
  if (request.tools.length === 0) {
    if (!toolHistory) return undefined;
    throw unsupported(
      provider,
      "tool calls in the conversation with no tools offered",
      "Converse needs the tools offered to read those calls",
    );
  }
  if (choice?.type === "none") {
    if (!toolHistory) return undefined;
    throw unsupported(
      provider,
      "tool_choice none with tool calls in the conversation",
      "Converse has no `none` choice, and needs the tools to read those calls",
    );
  }
  return {
    tools: request.tools.map(toolSpec),
    ...(choice === undefined
      ? {}
      : {
          toolChoice:
            choice.type === "tool"
              ? { tool: { name: choice.name } }
              : choice.type === "required"
                ? { any: {} }
                : { auto: {} },
        }),
  };
}

function toolSpec(tool: ToolDefinition): Block {
  return {
    toolSpec: {
      name: tool.name,
      ...(tool.description !== undefined ? { description: tool.description } : {}),
      inputSchema: { json: tool.parameters },
      ...(tool.strict !== undefined ? { strict: tool.strict } : {}),
    },
  };
}
