import { EventStreamCodec, type MessageHeaders } from "@smithy/eventstream-codec";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import type { Pacing } from "./scenario.js";
import { type SchemaNode, schemaInstance } from "./schema-instance.js";
import { DEFAULT_TEXT, fragments, limitTokens, promptTokens, randomId, tokenize } from "./text.js";

/** Answers the fake Bedrock can give; the path (converse or converse-stream) says JSON or stream. */
export type BedrockFlavour = "bedrock" | "reasoning" | "tool-use" | "guardrail" | "unknown-events";

export interface BedrockAnswer extends Pacing {
  kind: "answer";
  /** Default "bedrock". */
  flavour?: BedrockFlavour;
  /** The text block's text; default DEFAULT_TEXT. */
  text?: string;
  /** For "reasoning" (or a request with thinking enabled): the reasoning text. */
  reasoning?: string;
  /** A redactedContent reasoning block (base64), after the reasoning text block. */
  redactedReasoning?: string;
  /** For "tool-use": the call; default one per offered tool (as toolChoice allows), else get_weather. */
  toolUse?: { name: string; input: Record<string, unknown> };
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  /** Stream only: an exception event instead of the events from this index on. */
  exceptionAfterEvents?: number;
  /** The exception's `:exception-type` (camelCase); default throttlingException. */
  exceptionType?: string;
  exceptionMessage?: string;
}

export const DEFAULT_REASONING = "The user greets me. I should greet back.";
export const DEFAULT_BEDROCK_TOOL_USE = { name: "get_weather", input: { city: "Paris", unit: "celsius" } };
/** toolUse input deltas per call; each counts as one output token. */
export const TOOL_INPUT_DELTAS = 3;
export const GUARDRAIL_TEXT = "Sorry, the model cannot answer this question.";

type Block =
  | { type: "text"; tokens: string[] }
  | { type: "reasoning"; tokens: string[]; signature: string }
  | { type: "redacted"; data: string }
  | { type: "toolUse"; id: string; name: string; input: Record<string, unknown>; parts: string[] };

export interface BedrockPlan {
  flavour: BedrockFlavour;
  blocks: Block[];
  stopReason: "end_turn" | "max_tokens" | "stop_sequence" | "tool_use" | "guardrail_intervened";
  usage: {
    inputTokens: number;
    outputTokens: number;
    totalTokens: number;
    cacheReadInputTokens?: number;
    cacheWriteInputTokens?: number;
  };
}

/** The parts of a Converse request the fake reads. */
export interface ConverseRequest {
  messages?: unknown;
  system?: unknown;
  inferenceConfig?: { maxTokens?: number; stopSequences?: string[] };
  toolConfig?: {
    tools?: { toolSpec?: { name: string; inputSchema?: { json?: SchemaNode } } }[];
    toolChoice?: { auto?: object; any?: object; tool?: { name: string } };
  };
  outputConfig?: { textFormat?: { type?: string; structure?: { jsonSchema?: { schema?: string } } } };
  additionalModelRequestFields?: { thinking?: { type?: string } };
}

export function planBedrock(request: ConverseRequest, answer: Partial<BedrockAnswer> = {}): BedrockPlan {
  const flavour = answer.flavour ?? "bedrock";
  const schema = request.outputConfig?.textFormat?.structure?.jsonSchema?.schema;
  let text = schema
    ? JSON.stringify(schemaInstance(JSON.parse(schema) as SchemaNode))
    : flavour === "guardrail"
      ? GUARDRAIL_TEXT
      : (answer.text ?? DEFAULT_TEXT);
  const stop = request.inferenceConfig?.stopSequences?.find((s) => text.includes(s));
  if (stop !== undefined) text = text.slice(0, text.indexOf(stop));
  const limited = limitTokens(tokenize(text), request.inferenceConfig?.maxTokens);
  const blocks: Block[] = [];
  if (flavour === "reasoning" || request.additionalModelRequestFields?.thinking?.type === "enabled") {
    const tokens = tokenize(answer.reasoning ?? DEFAULT_REASONING);
    blocks.push({ type: "reasoning", tokens, signature: `Eq${randomId("", 86)}==` });
  }
  if (answer.redactedReasoning !== undefined)
    blocks.push({ type: "redacted", data: answer.redactedReasoning });
  blocks.push({ type: "text", tokens: limited.tokens });
  for (const { name, input } of toolUses(request, flavour, answer)) {
    const parts = fragments(JSON.stringify(input), TOOL_INPUT_DELTAS);
    blocks.push({ type: "toolUse", id: randomId("tooluse_", 22), name, input, parts });
  }
  const input = promptTokens(request.messages, request.system);
  const output = blocks.reduce((sum, b) => sum + blockTokens(b), 0);
  const cacheRead = answer.cacheReadTokens ?? 0;
  const cacheWrite = answer.cacheWriteTokens ?? 0;
  const cached = cacheRead + cacheWrite > 0;
  return {
    flavour,
    blocks,
    stopReason:
      flavour === "guardrail"
        ? "guardrail_intervened"
        : blocks.some((b) => b.type === "toolUse")
          ? "tool_use"
          : limited.cut
            ? "max_tokens"
            : stop !== undefined
              ? "stop_sequence"
              : "end_turn",
    // inputTokens leaves the cache's reads and writes out; totalTokens counts them.
    usage: {
      inputTokens: input,
      outputTokens: output,
      totalTokens: input + output + cacheRead + cacheWrite,
      ...(cached ? { cacheReadInputTokens: cacheRead, cacheWriteInputTokens: cacheWrite } : {}),
    },
  };
}

/** A forced toolChoice calls its tool (`any`: every offered one); "tool-use" calls every offered tool. */
function toolUses(request: ConverseRequest, flavour: BedrockFlavour, answer: Partial<BedrockAnswer>) {
  const choice = request.toolConfig?.toolChoice ?? { auto: {} };
  const forced = choice.any !== undefined || choice.tool !== undefined;
  if (flavour !== "tool-use" && !forced) return [];
  if (answer.toolUse) return [answer.toolUse];
  const offered = (request.toolConfig?.tools ?? []).filter(
    (t) => choice.tool === undefined || t.toolSpec?.name === choice.tool.name,
  );
  if (offered.length === 0) return flavour === "tool-use" ? [DEFAULT_BEDROCK_TOOL_USE] : [];
  return offered.map(({ toolSpec }) => ({
    name: toolSpec?.name ?? "",
    input: schemaInstance(toolSpec?.inputSchema?.json ?? { type: "object" }) as Record<string, unknown>,
  }));
}

function blockTokens(block: Block): number {
  if (block.type === "toolUse") return block.parts.length;
  if (block.type === "redacted") return 1;
  return block.tokens.length;
}

function finished(block: Block): object {
  switch (block.type) {
    case "text":
      return { text: block.tokens.join("") };
    case "reasoning":
      return {
        reasoningContent: { reasoningText: { text: block.tokens.join(""), signature: block.signature } },
      };
    case "redacted":
      return { reasoningContent: { redactedContent: block.data } };
    case "toolUse":
      return { toolUse: { toolUseId: block.id, name: block.name, input: block.input } };
  }
}

/** The body of a Converse answer. */
export function converseJson(plan: BedrockPlan): object {
  return {
    output: { message: { role: "assistant", content: plan.blocks.map(finished) } },
    stopReason: plan.stopReason,
    usage: plan.usage,
    metrics: { latencyMs: 321 },
  };
}

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

function frame(headers: Record<string, string>, payload: object): Uint8Array {
  const encoded: MessageHeaders = {};
  for (const [name, value] of Object.entries(headers)) encoded[name] = { type: "string", value };
  return codec.encode({ headers: encoded, body: fromUtf8(JSON.stringify(payload)) });
}

/**
 * One event as ConverseStream sends it: `:event-type`, `:content-type`, `:message-type` headers and
 * a JSON payload, which Bedrock pads with a `p` of random length (so sizes leak no tokens).
 */
export function eventFrame(type: string, payload: object): Uint8Array {
  const p = PADDING.slice(0, 1 + Math.floor(Math.random() * PADDING.length));
  return frame(
    { ":event-type": type, ":content-type": "application/json", ":message-type": "event" },
    { ...payload, p },
  );
}

/** An exception event, e.g. `throttlingException` with `{"message": ...}`. */
export function exceptionFrame(type: string, message: string): Uint8Array {
  return frame(
    { ":exception-type": type, ":content-type": "application/json", ":message-type": "exception" },
    { message },
  );
}

function blockEvents(block: Block, index: number): Uint8Array[] {
  const delta = (d: object) => eventFrame("contentBlockDelta", { contentBlockIndex: index, delta: d });
  const events: Uint8Array[] = [];
  switch (block.type) {
    case "text":
      events.push(...block.tokens.map((text) => delta({ text })));
      break;
    case "reasoning":
      events.push(...block.tokens.map((text) => delta({ reasoningContent: { text } })));
      events.push(delta({ reasoningContent: { signature: block.signature } }));
      break;
    case "redacted":
      events.push(delta({ reasoningContent: { redactedContent: block.data } }));
      break;
    case "toolUse":
      events.push(
        eventFrame("contentBlockStart", {
          contentBlockIndex: index,
          start: { toolUse: { toolUseId: block.id, name: block.name } },
        }),
      );
      events.push(...block.parts.map((input) => delta({ toolUse: { input } })));
      break;
  }
  events.push(eventFrame("contentBlockStop", { contentBlockIndex: index }));
  return events;
}

/** The event stream of a ConverseStream answer, one frame per event. */
export function converseStreamFrames(plan: BedrockPlan, answer: Partial<BedrockAnswer> = {}): Uint8Array[] {
  const events = [eventFrame("messageStart", { role: "assistant" })];
  plan.blocks.forEach((block, index) => {
    events.push(...blockEvents(block, index));
    if (plan.flavour === "unknown-events") events.push(eventFrame("futureEvent", { note: "ignore me" }));
  });
  events.push(eventFrame("messageStop", { stopReason: plan.stopReason }));
  events.push(eventFrame("metadata", { usage: plan.usage, metrics: { latencyMs: 321 } }));
  const cut = answer.exceptionAfterEvents;
  if (cut === undefined) return events;
  const type = answer.exceptionType ?? "throttlingException";
  const message = answer.exceptionMessage ?? "Too many tokens, please wait before trying again.";
  return [...events.slice(0, cut), exceptionFrame(type, message)];
}
