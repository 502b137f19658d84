import type { ChatMessage, ContentPart, ImageSource, Reasoning, ToolCall } from "../providers/provider.js";
import { invalid } from "./invalid-field.js";
import { jsonObjectField } from "./json-object-field.js";
import type { RequestSize } from "./request-size.js";
import type { InputImage, InputMessage } from "./validate-request.js";

/** Image formats every provider that takes images reads. */
const IMAGE_MEDIA_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

/**
 * The conversation, checked turn by turn: system turns gathered into `system`, the rest as
 * provider-neutral messages. A tool turn must answer a call an earlier assistant turn made.
 */
export function validateMessages(
  input: InputMessage[],
  size: RequestSize,
): { messages: ChatMessage[]; system: string[] } {
  const messages: ChatMessage[] = [];
  const system: string[] = [];
  const callIds = new Set<string>();
  input.forEach((message, i) => {
    const field = `messages[${i}]`;
    const content = contentOf(message, field, size);
    switch (message.role) {
      case "system": {
        const text = textOnly(content, field);
        if (text === "") invalid(`${field}.content`, "must not be empty");
        system.push(text);
        return;
      }
      case "user":
        if (content.length === 0) invalid(`${field}.content`, "must not be empty");
        messages.push({ role: "user", content });
        return;
      case "assistant": {
        const toolCalls = (message.toolCalls ?? []).map((call, c) =>
          toolCall(call, `${field}.tool_calls[${c}]`, size),
        );
        for (const call of toolCalls) callIds.add(call.id);
        const text = textOnly(content, field);
        if (text === "" && toolCalls.length === 0)
          invalid(`${field}.content`, "must not be empty in an assistant turn without tool calls");
        const reasoning = (message.reasoning ?? []).map((block): Reasoning => {
          size.add(block.text, block.signature, block.redactedData);
          return {
            text: block.text,
            ...(block.signature ? { signature: block.signature } : {}),
            ...(block.redactedData ? { redactedData: block.redactedData } : {}),
          };
        });
        messages.push({
          role: "assistant",
          content: text === "" ? [] : [{ type: "text", text }],
          toolCalls,
          reasoning,
        });
        return;
      }
      case "tool": {
        const toolCallId = message.toolCallId ?? "";
        if (toolCallId === "") invalid(`${field}.tool_call_id`, "is required in a tool turn");
        size.add(toolCallId);
        if (!callIds.has(toolCallId))
          invalid(
            `${field}.tool_call_id`,
            `"${toolCallId}" answers no tool call of an earlier assistant turn`,
          );
        messages.push({ role: "tool", toolCallId, content, isError: message.isError === true });
        return;
      }
      default:
        invalid(`${field}.role`, `must be "user", "assistant", "system" or "tool", not "${message.role}"`);
    }
  });
  if (messages.length === 0) invalid("messages", "must hold a user or assistant message");
  return { messages, system };
}

/** A turn's content: its `content` text or its `parts`, not both. */
function contentOf(message: InputMessage, field: string, size: RequestSize): ContentPart[] {
  const parts = message.parts ?? [];
  if (parts.length === 0) {
    size.add(message.content);
    // Blank text is no text: a turn must say something.
    return message.content.trim() === "" ? [] : [{ type: "text", text: message.content }];
  }
  if (message.content !== "") invalid(`${field}.parts`, "must be empty when content holds the turn's text");
  return parts.map(({ part }, p): ContentPart => {
    size.addElement();
    switch (part.case) {
      case "text":
        size.add(part.value);
        return { type: "text", text: part.value };
      case "image":
        return { type: "image", image: imageSource(part.value, `${field}.parts[${p}].image`, size) };
      default:
        return invalid(`${field}.parts[${p}]`, "must hold text or an image");
    }
  });
}

function textOnly(content: ContentPart[], field: string): string {
  return content
    .map((part, p) =>
      part.type === "text" ? part.text : invalid(`${field}.parts[${p}]`, "must be text in this turn"),
    )
    .join("");
}

function imageSource({ source, mediaType }: InputImage, field: string, size: RequestSize): ImageSource {
  if (source.case === "data") {
    if (!IMAGE_MEDIA_TYPES.has(mediaType)) invalid(`${field}.media_type`, mediaTypeProblem(mediaType));
    if (source.value.length === 0) invalid(`${field}.data`, "must not be empty");
    size.addBytes(source.value.length);
    size.add(mediaType);
    return { mediaType, base64: Buffer.from(source.value).toString("base64") };
  }
  if (source.case !== "url") return invalid(field, "needs a url or data");
  size.add(source.value);
  const data = DATA_URL.exec(source.value);
  if (data !== null) {
    const [, type = "", base64 = ""] = data;
    if (!IMAGE_MEDIA_TYPES.has(type)) invalid(`${field}.url`, mediaTypeProblem(type));
    if (base64 === "") invalid(`${field}.url`, "holds no image data");
    return { mediaType: type, base64 };
  }
  if (!/^https?:\/\/[^\s]+$/.test(source.value))
    invalid(`${field}.url`, "must be an http(s) URL or a data:image/...;base64, URL");
  return { url: source.value };
}

const mediaTypeProblem = (type: string) =>
  `must be one of ${[...IMAGE_MEDIA_TYPES].join(", ")}, not "${type}"`;

function toolCall(
  call: { id: string; name: string; arguments: string },
  field: string,
  size: RequestSize,
): ToolCall {
  if (call.id === "") invalid(`${field}.id`, "is required");
  if (call.name === "") invalid(`${field}.name`, "is required");
  size.addElement();
  size.add(call.id, call.name, call.arguments);
  const args = call.arguments === "" ? "{}" : call.arguments;
  jsonObjectField(args, `${field}.arguments`);
  return { id: call.id, name: call.name, arguments: args };
}
