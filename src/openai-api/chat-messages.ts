import { z } from "zod";
import { invalidField } from "../errors/gateway-error.js";
import type { InputMessage } from "../service/validate-request.js";
import { notCarried, parseField, typeOf } from "./invalid-field.js";

type InputPart = NonNullable<InputMessage["parts"]>[number];

const Content = z.union([z.string(), z.array(z.unknown()), z.null()]).optional();

const Message = z.looseObject({ role: z.string(), content: Content });

const AssistantMessage = z.looseObject({
  content: Content,
  refusal: z.string().nullish(),
  tool_calls: z.array(z.unknown()).nullish(),
  // Not OpenAI's: the reasoning OpenAI-compatible servers return (see chat-response.ts), sent back.
  reasoning_content: z.string().nullish(),
  audio: z.unknown().optional(),
  function_call: z.unknown().optional(),
});

const ToolMessage = z.looseObject({ content: Content, tool_call_id: z.string() });

const TextPart = z.looseObject({ type: z.literal("text"), text: z.string() });
const RefusalPart = z.looseObject({ type: z.literal("refusal"), refusal: z.string() });
// `detail` is accepted and not carried: the contract's Image has no such hint, and providers default it.
const ImagePart = z.looseObject({
  type: z.literal("image_url"),
  image_url: z.looseObject({ url: z.string(), detail: z.enum(["auto", "low", "high"]).nullish() }),
});

const FunctionToolCall = z.looseObject({
  id: z.string(),
  type: z.literal("function"),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

/** Which parts a role's content may hold, as OpenAI's message types allow them. */
type PartKinds = "text" | "text or image_url" | "text or refusal";

/** What a part type OpenAI knows, and the gateway does not carry, is called in a refusal. */
const NOT_CARRIED_PARTS: Record<string, string> = {
  input_audio: "audio is not supported",
  file: "files are not supported",
};

const ROLES = `"system", "developer", "user", "assistant" or "tool"`;

/** One message of an OpenAI request as the gateway's InputMessage; the field is named in any error. */
export function inputMessageOf(raw: unknown, i: number): InputMessage {
  const field = `messages[${i}]`;
  const message = parseField(Message, raw, field);
  switch (message.role) {
    // "developer" is the newer name for "system".
    case "system":
    case "developer":
      return { role: "system", ...contentOf(message.content, field, "text") };
    case "user":
      return { role: "user", ...contentOf(message.content, field, "text or image_url") };
    case "assistant":
      return assistantMessageOf(raw, field);
    case "tool": {
      const tool = parseField(ToolMessage, raw, field);
      return { role: "tool", toolCallId: tool.tool_call_id, ...contentOf(tool.content, field, "text") };
    }
    case "function":
      throw invalidField(
        `${field}.role`,
        `"function" is not supported: send tool results as "tool" messages`,
      );
    default:
      throw invalidField(`${field}.role`, `must be ${ROLES}, not "${message.role}"`);
  }
}

/**
 * An assistant turn as an app sends it back, often the SDK's own `message` pushed onto the list:
 * its tool calls, the reasoning that came with it, and a refusal as the text the model answered.
 */
function assistantMessageOf(raw: unknown, field: string): InputMessage {
  const message = parseField(AssistantMessage, raw, field);
  const turn: InputMessage = { role: "assistant", ...contentOf(message.content, field, "text or refusal") };
  if (message.audio != null) throw invalidField(`${field}.audio`, "is not supported: audio is not carried");
  if (message.function_call != null)
    throw invalidField(`${field}.function_call`, "is not supported: send tool_calls instead");
  if (message.refusal) {
    if (turn.parts === undefined && turn.content === "") turn.content = message.refusal;
    else {
      turn.parts = [...(turn.parts ?? [textPart(turn.content)]), textPart(message.refusal)];
      turn.content = "";
    }
  }
  const toolCalls = (message.tool_calls ?? []).map((call, j) => {
    const at = `${field}.tool_calls[${j}]`;
    const type = typeOf(call);
    if (type !== "function") throw invalidField(at, `must be a function call: ${notCarried(type, "calls")}`);
    const { id, function: fn } = parseField(FunctionToolCall, call, at);
    return { id, name: fn.name, arguments: fn.arguments };
  });
  if (toolCalls.length > 0) turn.toolCalls = toolCalls;
  if (message.reasoning_content) turn.reasoning = [{ text: message.reasoning_content }];
  return turn;
}

/** A string is the turn's text; an array is its parts, in order (a `data:` URL stays a URL). */
function contentOf(
  content: z.output<typeof Content>,
  field: string,
  kinds: PartKinds,
): Pick<InputMessage, "content" | "parts"> {
  if (typeof content === "string") return { content };
  if (content === null || content === undefined) return { content: "" };
  return { content: "", parts: content.map((part, p) => partOf(part, `${field}.content[${p}]`, kinds)) };
}

function partOf(part: unknown, field: string, kinds: PartKinds): InputPart {
  const type = typeOf(part);
  if (type === "text") return textPart(parseField(TextPart, part, field).text);
  if (type === "image_url" && kinds === "text or image_url") {
    const { image_url } = parseField(ImagePart, part, field);
    return {
      part: { case: "image", value: { source: { case: "url", value: image_url.url }, mediaType: "" } },
    };
  }
  // A refusal the model made earlier is what it answered, so it goes back as its text.
  if (type === "refusal" && kinds === "text or refusal")
    return textPart(parseField(RefusalPart, part, field).refusal);
  const why =
    type === undefined
      ? "it has no type"
      : (NOT_CARRIED_PARTS[type] ?? `"${type}" is not a part this message may hold`);
  throw invalidField(field, `must be a ${kinds} part: ${why}`);
}

const textPart = (text: string): InputPart => ({ part: { case: "text", value: text } });
