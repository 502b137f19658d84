import type { Pacing } from "./scenario.js";
import { DEFAULT_TEXT, fragments, limitTokens, promptTokens, randomId, sse, tokenize } from "./text.js";

/** Real-world Messages API stream formats the fake can speak. */
export type AnthropicFlavour =
  | "anthropic"
  | "anthropic-padded"
  | "thinking"
  | "tool-use"
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
  /** For "thinking": the thinking text. */
  thinking?: string;
  /** For "tool-use": the tool call; default get_weather({city:"Paris",unit:"celsius"}). */
  toolUse?: { name: string; input: Record<string, unknown> };
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
/** input_json_delta fragments per tool_use after the leading empty one; each counts as one output token. */
export const TOOL_INPUT_FRAGMENTS = 3;

type Block =
  | { type: "text"; tokens: string[] }
  | { type: "thinking"; tokens: string[]; signature: string }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown>; parts: string[] };

export interface AnthropicPlan {
  id: string;
  model: string;
  flavour: AnthropicFlavour;
  blocks: Block[];
  stopReason: "end_turn" | "max_tokens" | "stop_sequence" | "tool_use";
  stopSequence: string | null;
  usage: {
    input_tokens: number;
    output_tokens: number;
    cache_creation_input_tokens: number;
    cache_read_input_tokens: number;
  };
}

interface MessagesRequest {
  model: string;
  messages: unknown;
  system?: unknown;
  max_tokens: number;
  stop_sequences?: string[];
}

export function planAnthropic(
  request: MessagesRequest,
  answer: Partial<AnthropicAnswer> = {},
): AnthropicPlan {
  const flavour = answer.flavour ?? "anthropic";
  let text = answer.text ?? DEFAULT_TEXT;
  const stop = request.stop_sequences?.find((s) => text.includes(s)) ?? null;
  if (stop !== null) text = text.slice(0, text.indexOf(stop));
  const limited = limitTokens(tokenize(text), request.max_tokens);
  const blocks: Block[] = [];
  if (flavour === "thinking") {
    const signature = `Eq${randomId("", 86)}==`;
    blocks.push({ type: "thinking", tokens: tokenize(answer.thinking ?? DEFAULT_THINKING), signature });
  }
  blocks.push({ type: "text", tokens: limited.tokens });
  if (flavour === "tool-use") {
    const { name, input } = answer.toolUse ?? DEFAULT_TOOL_USE;
    blocks.push({
      type: "tool_use",
      id: randomId("toolu_01"),
      name,
      input,
      parts: fragments(JSON.stringify(input), TOOL_INPUT_FRAGMENTS),
    });
  }
  const output = blocks.reduce(
    (sum, b) => sum + (b.type === "tool_use" ? b.parts.length : b.tokens.length),
    0,
  );
  return {
    id: randomId("msg_01"),
    model: request.model,
    flavour,
    blocks,
    stopReason:
      flavour === "tool-use"
        ? "tool_use"
        : limited.cut
          ? "max_tokens"
          : stop !== null
            ? "stop_sequence"
            : "end_turn",
    stopSequence: limited.cut ? null : stop,
    usage: {
      input_tokens: promptTokens(request.messages, request.system),
      output_tokens: output,
      cache_creation_input_tokens: answer.cacheCreationTokens ?? 0,
      cache_read_input_tokens: answer.cacheReadTokens ?? 0,
    },
  };
}

function usage(plan: AnthropicPlan, outputTokens: number): object {
  const extra =
    plan.flavour === "anthropic-2026"
      ? {
          cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
          service_tier: "standard",
        }
      : {};
  return { ...plan.usage, output_tokens: outputTokens, ...extra };
}

function finished(block: Block): object {
  if (block.type === "text") return { type: "text", text: block.tokens.join("") };
  if (block.type === "thinking")
    return { type: "thinking", thinking: block.tokens.join(""), signature: block.signature };
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
    usage: usage(plan, plan.usage.output_tokens),
  };
}

function started(block: Block): object {
  if (block.type === "text") return { type: "text", text: "" };
  if (block.type === "thinking") return { type: "thinking", thinking: "", signature: "" };
  return { type: "tool_use", id: block.id, name: block.name, input: {} };
}

function blockDeltas(block: Block): object[] {
  if (block.type === "text") return block.tokens.map((text) => ({ type: "text_delta", text }));
  if (block.type === "tool_use")
    return ["", ...block.parts].map((partial_json) => ({ type: "input_json_delta", partial_json }));
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
  const message = {
    ...messageJson(plan),
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: usage(plan, 1),
  };
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
  const delta = { stop_reason: plan.stopReason, stop_sequence: plan.stopSequence };
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
