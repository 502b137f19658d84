import { GatewayError } from "../../errors/gateway-error.js";
import { decodeEventStream, type EventStreamMessage, messageJson } from "../event-stream-decoder.js";
import type { FinishReason, NonTextContent, TokenUsage, WireStreamEvent } from "../provider.js";
import { StreamBlocks } from "../stream-blocks.js";
import { parseErrorBody } from "../upstream-http-error.js";
import { streamError } from "./errors.js";
import { type ConverseUsage, toFinishReason, toUsage } from "./stop-reason.js";

/** An event's payload; which members are set depends on its `:event-type`. */
interface ConverseStreamEvent {
  contentBlockIndex?: number;
  start?: { toolUse?: { toolUseId?: string; name?: string; type?: string } };
  delta?: {
    text?: string;
    toolUse?: { input?: string };
    reasoningContent?: { text?: string; signature?: string; redactedContent?: string };
  };
  stopReason?: string;
  usage?: ConverseUsage;
}

/**
 * Turns a ConverseStream event stream into content pieces and one finish event. Tool calls and
 * reasoning blocks are numbered per kind from 0; a tool call begins with contentBlockStart, a
 * reasoning block with its first delta. The finish waits for `metadata`, which brings the usage
 * after `messageStop`. An exception (or error) message ends the stream with its error.
 */
export async function* readConverseStream(
  body: AsyncIterable<Uint8Array>,
  provider: string,
): AsyncGenerator<WireStreamEvent> {
  let finishReason: FinishReason | undefined;
  let usage: TokenUsage | undefined;
  const nonText = new Set<NonTextContent>();
  const blocks = new StreamBlocks<"other">();
  const finish = (): WireStreamEvent => ({
    type: "finish",
    finishReason: finishReason ?? "unspecified",
    usage,
    nonTextContent: [...nonText],
  });
  for await (const message of decodeEventStream(body, provider)) {
    const messageType = message.headers[":message-type"];
    if (messageType === "exception") {
      throw streamError(message.headers[":exception-type"], payloadOf(message), provider);
    }
    if (messageType === "error") {
      const text = message.headers[":error-message"];
      throw streamError(message.headers[":error-code"], text ? { message: text } : {}, provider);
    }
    const event = messageJson<ConverseStreamEvent>(message, provider);
    const at = event.contentBlockIndex ?? -1;
    switch (message.headers[":event-type"]) {
      case "contentBlockStart": {
        const toolUse = event.start?.toolUse;
        if (!toolUse) break;
        if (toolUse.type === "server_tool_use") {
          blocks.mark(at, "other");
          nonText.add("tool_calls");
          break;
        }
        const index = blocks.open(at, "tool_call");
        yield { type: "tool_call_delta", index, id: toolUse.toolUseId, name: toolUse.name, arguments: "" };
        break;
      }
      case "contentBlockDelta": {
        const piece = pieceOf(event.delta ?? {}, at, blocks, provider);
        if (piece) yield piece;
        break;
      }
      case "messageStop":
        finishReason = toFinishReason(event.stopReason);
        break;
      case "metadata":
        usage = toUsage(event.usage);
        if (finishReason !== undefined) {
          yield finish();
          return;
        }
        break;
    }
  }
  // A stream whose message stopped is whole, with or without the metadata that counts it.
  if (finishReason !== undefined) {
    yield finish();
    return;
  }
  throw new GatewayError("unavailable", `${provider} ended the stream before messageStop`, {
    reason: "UPSTREAM_STREAM_CUT",
  });
}

/** A contentBlockDelta as our piece; a toolUse delta needs its block started first. */
function pieceOf(
  delta: NonNullable<ConverseStreamEvent["delta"]>,
  at: number,
  blocks: StreamBlocks<"other">,
  provider: string,
): WireStreamEvent | undefined {
  const block = blocks.get(at);
  // A server-side tool streams its input too: not ours to carry.
  if (block?.kind === "other") return undefined;
  if (typeof delta.text === "string") return delta.text ? { type: "delta", text: delta.text } : undefined;
  if (delta.toolUse) {
    if (block?.kind !== "tool_call") throw notA("tool_call", "toolUse", at, provider);
    return delta.toolUse.input
      ? { type: "tool_call_delta", index: block.index, arguments: delta.toolUse.input }
      : undefined;
  }
  const reasoning = delta.reasoningContent;
  if (!reasoning) return undefined;
  if (block !== undefined && block.kind !== "reasoning")
    throw notA("reasoning", "reasoningContent", at, provider);
  const index = block?.index ?? blocks.open(at, "reasoning");
  if (reasoning.redactedContent !== undefined)
    return { type: "reasoning_delta", index, redactedData: reasoning.redactedContent };
  if (reasoning.signature !== undefined)
    return { type: "reasoning_delta", index, signature: reasoning.signature };
  return { type: "reasoning_delta", index, text: reasoning.text ?? "" };
}

/** An exception's `{"message"}`; one that is not JSON is its message. */
function payloadOf(message: EventStreamMessage): unknown {
  return parseErrorBody(Buffer.from(message.body).toString("utf8"));
}

function notA(kind: string, what: string, at: number, provider: string): GatewayError {
  return new GatewayError(
    "unavailable",
    `${provider} sent a malformed stream: a ${what} delta for content block ${at}, which is no ${kind} block`,
    { reason: "UPSTREAM_MALFORMED" },
  );
}
