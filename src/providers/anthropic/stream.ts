import { GatewayError } from "../../errors/gateway-error.js";
import type { FinishReason, NonTextContent, WireStreamEvent } from "../provider.js";
import { decodeSse, parseEventData } from "../sse-decoder.js";
import { type OpenBlock as OpenBlockOf, StreamBlocks } from "../stream-blocks.js";
import { streamError } from "./errors.js";
import {
  type AnthropicStopDetails,
  type AnthropicUsage,
  nonTextKind,
  refusalOf,
  toFinishReason,
  toUsage,
} from "./stop-reason.js";

interface MessageStreamEvent {
  type?: string;
  index?: number;
  message?: { id?: string; usage?: AnthropicUsage };
  content_block?: {
    type?: string;
    text?: string;
    id?: string;
    name?: string;
    thinking?: string;
    signature?: string;
    data?: string;
  };
  delta?: {
    type?: string;
    text?: string;
    partial_json?: string;
    thinking?: string;
    signature?: string;
    stop_reason?: string | null;
    stop_details?: AnthropicStopDetails | null;
  };
  usage?: AnthropicUsage;
}

type OpenBlock = OpenBlockOf<"text" | "other">;

/**
 * Turns a Messages API event stream into an id, content pieces and one finish event. Tool calls
 * and reasoning blocks are numbered per kind from 0. Usage counts are cumulative: later values
 * replace earlier ones. `ping` and unknown events are ignored; an `error` event ends the stream.
 */
export async function* readMessageStream(
  body: AsyncIterable<Uint8Array>,
  provider: string,
): AsyncGenerator<WireStreamEvent> {
  let finishReason: FinishReason = "unspecified";
  const usage: AnthropicUsage = {};
  const nonText = new Set<NonTextContent>();
  const blocks = new StreamBlocks<"text" | "other">();
  const open = (at: number, kind: "tool_call" | "reasoning") => blocks.open(at, kind);
  for await (const sse of decodeSse(body, provider)) {
    const event = parseEventData<MessageStreamEvent>(sse.data, provider);
    const at = event.index ?? -1;
    switch (event.type ?? sse.event) {
      case "message_start":
        mergeUsage(usage, event.message?.usage);
        yield { type: "id", id: event.message?.id ?? "" };
        break;
      case "content_block_start": {
        const block = event.content_block ?? {};
        if (block.type === "tool_use") {
          const index = open(at, "tool_call");
          yield { type: "tool_call_delta", index, id: block.id, name: block.name, arguments: "" };
        } else if (block.type === "thinking") {
          const index = open(at, "reasoning");
          yield {
            type: "reasoning_delta",
            index,
            text: block.thinking ?? "",
            ...(block.signature ? { signature: block.signature } : {}),
          };
        } else if (block.type === "redacted_thinking") {
          yield { type: "reasoning_delta", index: open(at, "reasoning"), redactedData: block.data ?? "" };
        } else {
          blocks.mark(at, block.type === "text" ? "text" : "other");
          if (block.type === "text" && block.text) yield { type: "delta", text: block.text };
          const kind = nonTextKind(block.type);
          if (kind) nonText.add(kind);
        }
        break;
      }
      case "content_block_delta": {
        const piece = pieceOf(event.delta ?? {}, blocks.get(at), at, provider);
        if (piece) yield piece;
        break;
      }
      case "message_delta": {
        if (event.delta?.stop_reason) finishReason = toFinishReason(event.delta.stop_reason);
        const refusal = refusalOf(event.delta?.stop_details);
        if (refusal) yield { type: "refusal_delta", text: refusal };
        mergeUsage(usage, event.usage);
        break;
      }
      case "message_stop":
        yield { type: "finish", finishReason, usage: toUsage(usage), nonTextContent: [...nonText] };
        return;
      case "error":
        throw streamError(event, provider);
    }
  }
  throw new GatewayError("unavailable", `${provider} ended the stream before message_stop`, {
    reason: "UPSTREAM_STREAM_CUT",
  });
}

/** A content_block_delta as our piece; a tool or thinking delta needs its block started first. */
function pieceOf(
  delta: NonNullable<MessageStreamEvent["delta"]>,
  block: OpenBlock | undefined,
  at: number,
  provider: string,
): WireStreamEvent | undefined {
  // Anthropic's own tools (server_tool_use) stream their input too: not ours to carry.
  if (block?.kind === "other") return undefined;
  const index = block && "index" in block ? block.index : undefined;
  const expect = (kind: OpenBlock["kind"]): number => {
    if (index === undefined || block?.kind !== kind)
      throw new GatewayError(
        "unavailable",
        `${provider} sent a malformed stream: a ${delta.type} for content block ${at}, which is no ${kind} block`,
        { reason: "UPSTREAM_MALFORMED" },
      );
    return index;
  };
  switch (delta.type) {
    case "text_delta":
      return delta.text ? { type: "delta", text: delta.text } : undefined;
    case "input_json_delta":
      // The first piece of every tool_use is empty.
      return delta.partial_json
        ? { type: "tool_call_delta", index: expect("tool_call"), arguments: delta.partial_json }
        : undefined;
    case "thinking_delta":
      return { type: "reasoning_delta", index: expect("reasoning"), text: delta.thinking ?? "" };
    case "signature_delta":
      return { type: "reasoning_delta", index: expect("reasoning"), signature: delta.signature ?? "" };
    default:
      return undefined;
  }
}

function mergeUsage(into: AnthropicUsage, from: AnthropicUsage | undefined): void {
  if (!from) return;
  for (const [key, value] of Object.entries(from) as [keyof AnthropicUsage, unknown][]) {
    if (typeof value === "number") (into as Record<string, unknown>)[key] = value;
  }
  const thinking = from.output_tokens_details?.thinking_tokens;
  if (typeof thinking === "number") into.output_tokens_details = { thinking_tokens: thinking };
}
