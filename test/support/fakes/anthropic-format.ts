import type { Pacing } from "./scenario.js";
import { type SchemaNode, schemaInstance } from "./schema-instance.js";
import { DEFAULT_TEXT, fragments, limitTokens, promptTokens, randomId, sse, tokenize } from "./text.js";

/** Real-world Messages API stream formats the fake can speak. */
export type AnthropicFlavour =
  | "anthropic"
  | "anthropic-padded"
  | "thinking"
  | "tool-use"
  | "refusal"
  | "anthropic-2026"
  | "error-event"
  | "json-error-on-stream"
  | "unknown-events";

/** A successful answer. "answer" follows the request's `stream` flag; "stream"/"json" force one. */
export interface AnthropicAnswer extends Pacing {
  kind: "answer" | "stream" | "json";
  /** Default "anthropic". */
  flavour?: AnthropicFlavour;
  /** The text block's text; default DEFAULT_TEXT. */
  text?: string;
  /** For "thinking" (or a request with thinking enabled): the thinking text. */
  thinking?: string;
  /** A redacted_thinking block's data, after the thinking block. */
  redactedThinking?: string;
  /**
   * For "tool-use": the tool call. Default: one call per tool the request offers (as its
   * tool_choice allows), its input the smallest valid for the tool's schema; with no tools,
   * get_weather({city:"Paris",unit:"celsius"}).
   */
  toolUse?: { name: string; input: Record<string, unknown> };
  /** For "refusal": stop_details.explanation. */
  refusalExplanation?: string;
  cacheReadTokens?: number;
  cacheCreationTokens?: number;
  /** Cut the stream after this many events with an `event: error` (default 4 for "error-event"). */
  errorAfterEvents?: number;
  /** The error event's type and message; default overloaded_error / "Overloaded". */
  errorType?: string;
  errorMessage?: string;
}

export const DEFAULT_THINKING = "The user greets me. I should greet back.";
export const DEFAULT_TOOL_USE = { name: "get_weather", input: { city: "Paris", unit: "celsius" } };
export const DEFAULT_REFUSAL = "The request could be related to an area that was determined as harmful.";
/** input_json_delta fragments per tool_use after the leading empty one; each counts as one output token. */
export const TOOL_INPUT_FRAGMENTS = 3;

type Block =
  | { type: "text"; tokens: string[] }
  | { type: "thinking"; tokens: string[]; signature: string }
  | { type: "redacted_thinking"; data: string }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown>; parts: string[] };

export interface AnthropicPlan {
  id: string;
  model: string;
  flavour: AnthropicFlavour;
  blocks: Block[];
  stopReason: "end_turn" | "max_tokens" | "stop_sequence" | "tool_use" | "refusal";
  stopSequence: string | null;
  stopDetails: { type: "refusal"; category: null; explanation: string } | null;
  usage: {
    input_tokens: number;
    output_tokens: number;
    cache_creation_input_tokens: number;
    cache_read_input_tokens: number;
  };
}

export interface MessagesRequest {
  model: string;
  messages: unknown;
  system?: unknown;
  max_tokens: number;
  stop_sequences?: string[];
  tools?: { name: string; input_schema: SchemaNode }[];
  tool_choice?: {
    type: "auto" | "any" | "tool" | "none";
    name?: string;
    disable_parallel_tool_use?: boolean;
  };
  thinking?: { type: string; budget_tokens?: number };
  output_config?: { format?: { type: string; schema: SchemaNode } };
}

export function planAnthropic(
  request: MessagesRequest,
  answer: Partial<AnthropicAnswer> = {},
): AnthropicPlan {
  const flavour = answer.flavour ?? "anthropic";
  const format = request.output_config?.format;
  // Structured output: the text is JSON valid against the schema.
  let text =
    format?.type === "json_schema"
      ? JSON.stringify(schemaInstance(format.schema))
      : (answer.text ?? DEFAULT_TEXT);
  const stop = request.stop_sequences?.find((s) => text.includes(s)) ?? null;
  if (stop !== null) text = text.slice(0, text.indexOf(stop));
  const limited = limitTokens(tokenize(text), request.max_tokens);
  const blocks: Block[] = [];
  if (flavour === "thinking" || request.thinking?.type === "enabled") {
    const signature = `Eq${randomId("", 86)}==`;
    blocks.push({ type: "thinking", tokens: tokenize(answer.thinking ?? DEFAULT_THINKING), signature });
  }
  if (answer.redactedThinking !== undefined)
    blocks.push({ type: "redacted_thinking", data: answer.redactedThinking });
  blocks.push({ type: "text", tokens: limited.tokens });
  for (const { name, input } of toolUses(request, flavour, answer)) {
    blocks.push({
      type: "tool_use",
      id: randomId("toolu_01"),
      name,
      input,
      parts: fragments(JSON.stringify(input), TOOL_INPUT_FRAGMENTS),
    });
  }
  const output = blocks.reduce((sum, b) => sum + blockTokens(b), 0);
  const usesTools = blocks.some((b) => b.type === "tool_use");
  return {
    id: randomId("msg_01"),
    model: request.model,
    flavour,
    blocks,
    stopReason:
      flavour === "refusal"
        ? "refusal"
        : usesTools
          ? "tool_use"
          : limited.cut
            ? "max_tokens"
            : stop !== null
              ? "stop_sequence"
              : "end_turn",
    stopSequence: limited.cut ? null : stop,
    stopDetails:
      flavour === "refusal"
        ? { type: "refusal", category: null, explanation: answer.refusalExplanation ?? DEFAULT_REFUSAL }
        : null,
    usage: {
      input_tokens: promptTokens(request.messages, request.system),
      output_tokens: output,
      cache_creation_input_tokens: answer.cacheCreationTokens ?? 0,
      cache_read_input_tokens: answer.cacheReadTokens ?? 0,
    },
  };
}

/**
 * The tool calls of an answer: a forced tool_choice calls its tool (`any`: every offered one), and
 * "tool-use" calls every offered tool; `none` calls nothing; disable_parallel_tool_use the first only.
 */
function toolUses(
  request: MessagesRequest,
  flavour: AnthropicFlavour,
  answer: Partial<AnthropicAnswer>,
): { name: string; input: Record<string, unknown> }[] {
  const choice = request.tool_choice ?? { type: "auto" };
  const forced = choice.type === "any" || choice.type === "tool";
  if (choice.type === "none" || (flavour !== "tool-use" && !forced)) return [];
  if (answer.toolUse) return [answer.toolUse];
  const offered = (request.tools ?? []).filter((t) => choice.type !== "tool" || t.name === choice.name);
  if (offered.length === 0) return flavour === "tool-use" ? [DEFAULT_TOOL_USE] : [];
  const calls = offered.map((tool) => ({
    name: tool.name,
    input: schemaInstance(tool.input_schema) as Record<string, unknown>,
  }));
  return choice.disable_parallel_tool_use ? calls.slice(0, 1) : calls;
}

function blockTokens(block: Block): number {
  if (block.type === "tool_use") return block.parts.length;
  if (block.type === "redacted_thinking") return 1;
  return block.tokens.length;
}

function usage(plan: AnthropicPlan, outputTokens: number): object {
  const extra =
    plan.flavour === "anthropic-2026"
      ? {
          cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
          service_tier: "standard",
        }
      : {};
  const thinking = plan.blocks.filter((b) => b.type === "thinking" || b.type === "redacted_thinking");
  const details =
    thinking.length > 0
      ? { output_tokens_details: { thinking_tokens: thinking.reduce((sum, b) => sum + blockTokens(b), 0) } }
      : {};
  return { ...plan.usage, output_tokens: outputTokens, ...extra, ...details };
}

function finished(block: Block): object {
  if (block.type === "text") return { type: "text", text: block.tokens.join("") };
  if (block.type === "thinking")
    return { type: "thinking", thinking: block.tokens.join(""), signature: block.signature };
  if (block.type === "redacted_thinking") return block;
  return { type: "tool_use", id: block.id, name: block.name, input: block.input };
}

/** The `message` object of a non-streamed answer. */
export function messageJson(plan: AnthropicPlan): object {
  return {
    id: plan.id,
    type: "message",
    role: "assistant",
    model: plan.model,
    content: plan.blocks.map(finished),
    stop_reason: plan.stopReason,
    stop_sequence: plan.stopSequence,
    ...(plan.stopDetails ? { stop_details: plan.stopDetails } : {}),
    usage: usage(plan, plan.usage.output_tokens),
  };
}

function started(block: Block): object {
  if (block.type === "text") return { type: "text", text: "" };
  if (block.type === "thinking") return { type: "thinking", thinking: "", signature: "" };
  if (block.type === "redacted_thinking") return block;
  return { type: "tool_use", id: block.id, name: block.name, input: {} };
}

function blockDeltas(block: Block): object[] {
  if (block.type === "text") return block.tokens.map((text) => ({ type: "text_delta", text }));
  if (block.type === "tool_use")
    return ["", ...block.parts].map((partial_json) => ({ type: "input_json_delta", partial_json }));
  if (block.type === "redacted_thinking") return [];
  return [
    ...block.tokens.map((thinking) => ({ type: "thinking_delta", thinking })),
    { type: "signature_delta", signature: block.signature },
  ];
}

/** The SSE events of a streamed answer, in the plan's flavour. */
export function messageEvents(plan: AnthropicPlan, answer: Partial<AnthropicAnswer> = {}): string[] {
  const padded = plan.flavour === "anthropic-padded";
  const event = (data: { type: string; [key: string]: unknown }) => {
    const json = JSON.stringify(data);
    return sse(padded ? `${json.slice(0, -1)}${" ".repeat(12)}}` : json, data.type);
  };
  const { stop_details: _, ...start } = messageJson(plan) as { stop_details?: unknown };
  const message = { ...start, content: [], stop_reason: null, stop_sequence: null, usage: usage(plan, 1) };
  const events = [event({ type: "message_start", message })];
  plan.blocks.forEach((block, index) => {
    events.push(event({ type: "content_block_start", index, content_block: started(block) }));
    if (index === 0) events.push(event({ type: "ping" }));
    for (const delta of blockDeltas(block)) {
      events.push(event({ type: "content_block_delta", index, delta }));
      if (plan.flavour === "unknown-events")
        events.push(event({ type: "future_event", index, note: "ignore me" }));
    }
    events.push(event({ type: "content_block_stop", index }));
  });
  const deltaUsage =
    plan.flavour === "anthropic-2026" ? { ...plan.usage } : { output_tokens: plan.usage.output_tokens };
  const delta = {
    stop_reason: plan.stopReason,
    stop_sequence: plan.stopSequence,
    ...(plan.stopDetails ? { stop_details: plan.stopDetails } : {}),
  };
  events.push(event({ type: "message_delta", delta, usage: deltaUsage }));
  events.push(event({ type: "message_stop" }));
  const cut = answer.errorAfterEvents ?? (plan.flavour === "error-event" ? 4 : undefined);
  if (cut === undefined) return events;
  const error = {
    type: answer.errorType ?? "overloaded_error",
    message: answer.errorMessage ?? "Overloaded",
  };
  return [...events.slice(0, cut), event({ type: "error", error })];
}
