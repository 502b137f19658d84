import { GatewayError } from "../../errors/gateway-error.js";
import type { NonTextContent, ParsedCompletion, Reasoning, ToolCall } from "../provider.js";
import { type OpenAIUsage, toFinishReason, toUsage } from "./finish-reason.js";

interface WireToolCall {
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}

interface ChatCompletion {
  id?: string;
  choices?: {
    message?: {
      content?: string | null;
      refusal?: string | null;
      tool_calls?: WireToolCall[] | null;
      /** The deprecated single call, with no id. */
      function_call?: unknown;
      /** vLLM and DeepSeek. */
      reasoning_content?: string | null;
      /** OpenRouter, and vLLM since 0.10. */
      reasoning?: string | null;
    };
    finish_reason?: string | null;
  }[];
  usage?: OpenAIUsage | null;
}

/** Reads a `chat.completion` object; a body without a choice is the upstream's fault. */
export function parseChatCompletion(json: unknown, provider: string): ParsedCompletion {
  const completion = json as ChatCompletion;
  const choice = completion?.choices?.[0];
  if (choice === undefined) throw malformed(provider, "answered without a choice");
  const message = choice.message ?? {};
  const nonTextContent: NonTextContent[] = [];
  // Without an id it cannot be answered with a tool result: named, not carried.
  if (message.function_call) nonTextContent.push("tool_calls");
  return {
    id: completion.id ?? "",
    text: message.content ?? "",
    finishReason: toFinishReason(choice.finish_reason),
    usage: toUsage(completion.usage),
    nonTextContent,
    toolCalls: (message.tool_calls ?? []).map((call, i) => toolCall(call, i, provider)),
    reasoning: reasoningOf(message.reasoning_content ?? message.reasoning),
    refusal: message.refusal ?? "",
  };
}

function toolCall(call: WireToolCall, index: number, provider: string): ToolCall {
  const name = call.function?.name;
  if (!call.id || !name) throw malformed(provider, `sent tool call ${index} without its id or name`);
  return { id: call.id, name, arguments: call.function?.arguments ?? "" };
}

/** A compatible server's reasoning text is one block; it has no signature. */
function reasoningOf(text: string | null | undefined): Reasoning[] {
  return text ? [{ text }] : [];
}

function malformed(provider: string, problem: string): GatewayError {
  return new GatewayError("unavailable", `${provider} ${problem}`, { reason: "UPSTREAM_MALFORMED" });
}
