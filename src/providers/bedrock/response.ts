import { GatewayError } from "../../errors/gateway-error.js";
import type { NonTextContent, ParsedCompletion, Reasoning, ToolCall } from "../provider.js";
import { type ConverseUsage, toFinishReason, toUsage } from "./stop-reason.js";

/** A content block of Converse's output message: one member set (a union in the API's model). */
interface ContentBlock {
  text?: string;
  toolUse?: { toolUseId?: string; name?: string; input?: unknown; type?: string };
  reasoningContent?: { reasoningText?: { text?: string; signature?: string }; redactedContent?: string };
  citationsContent?: { content?: { text?: string }[] };
}

interface ConverseResponse {
  output?: { message?: { role?: string; content?: ContentBlock[] } };
  stopReason?: string;
  usage?: ConverseUsage;
}

/**
 * Reads a Converse response: text blocks joined (a cited answer's text too), toolUse blocks as
 * calls, reasoningContent as reasoning. Converse answers with no id: the completion's is "".
 */
export function parseConverse(json: unknown, provider: string): ParsedCompletion {
  const response = json as ConverseResponse;
  const content = response?.output?.message?.content;
  if (!Array.isArray(content)) {
    throw new GatewayError("unavailable", `${provider} answered with no output message`, {
      reason: "UPSTREAM_MALFORMED",
    });
  }
  const nonText = new Set<NonTextContent>();
  const toolCalls: ToolCall[] = [];
  const reasoning: Reasoning[] = [];
  let text = "";
  for (const block of content) {
    if (typeof block.text === "string") text += block.text;
    else if (block.toolUse) {
      const call = toolCallOf(block.toolUse);
      if (call) toolCalls.push(call);
      else nonText.add("tool_calls");
    } else if (block.reasoningContent) reasoning.push(reasoningOf(block.reasoningContent));
    else if (block.citationsContent) text += citedText(block.citationsContent);
  }
  return {
    id: "",
    text,
    finishReason: toFinishReason(response.stopReason),
    usage: toUsage(response.usage),
    nonTextContent: [...nonText],
    toolCalls,
    reasoning,
    refusal: "",
  };
}

/** A call for the caller to run; a server-side tool's (`type: server_tool_use`) is none. */
export function toolCallOf(toolUse: NonNullable<ContentBlock["toolUse"]>): ToolCall | undefined {
  if (toolUse.type === "server_tool_use") return undefined;
  return {
    id: toolUse.toolUseId ?? "",
    name: toolUse.name ?? "",
    arguments: JSON.stringify(toolUse.input ?? {}),
  };
}

function reasoningOf(block: NonNullable<ContentBlock["reasoningContent"]>): Reasoning {
  if (block.redactedContent !== undefined) return { text: "", redactedData: block.redactedContent };
  const { text = "", signature } = block.reasoningText ?? {};
  return { text, ...(signature ? { signature } : {}) };
}

function citedText(block: NonNullable<ContentBlock["citationsContent"]>): string {
  return (block.content ?? []).map((part) => part.text ?? "").join("");
}
