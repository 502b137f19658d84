import { GatewayError } from "../../errors/gateway-error.js";
import type { FinishReason, NonTextContent, WireStreamEvent } from "../provider.js";
import { decodeSse, parseEventData } from "../sse-decoder.js";
import { streamError } from "./errors.js";
import { type AnthropicUsage, nonTextKind, toFinishReason, toUsage } from "./stop-reason.js";

interface MessageStreamEvent {
  type?: string;
  message?: { id?: string; usage?: AnthropicUsage };
  content_block?: { type?: string };
  delta?: { type?: string; text?: string; stop_reason?: string | null };
  usage?: AnthropicUsage;
}

const NON_TEXT_DELTAS: Record<string, NonTextContent> = {
  thinking_delta: "thinking",
  signature_delta: "thinking",
  input_json_delta: "tool_calls",
};

/**
 * Turns a Messages API event stream into an id, text deltas and one finish event. Usage
 * counts are cumulative: later values replace earlier ones. `ping` and unknown events are
 * ignored; an `error` event ends the stream with it.
 */
export async function* readMessageStream(
  body: AsyncIterable<Uint8Array>,
  provider: string,
): AsyncGenerator<WireStreamEvent> {
  let finishReason: FinishReason = "unspecified";
  const usage: AnthropicUsage = {};
  const nonText = new Set<NonTextContent>();
  for await (const sse of decodeSse(body, provider)) {
    const event = parseEventData<MessageStreamEvent>(sse.data, provider);
    switch (event.type ?? sse.event) {
      case "message_start":
        mergeUsage(usage, event.message?.usage);
        yield { type: "id", id: event.message?.id ?? "" };
        break;
      case "content_block_start": {
        const kind = nonTextKind(event.content_block?.type);
        if (kind) nonText.add(kind);
        break;
      }
      case "content_block_delta": {
        if (event.delta?.type === "text_delta" && event.delta.text)
          yield { type: "delta", text: event.delta.text };
        const kind = NON_TEXT_DELTAS[event.delta?.type ?? ""];
        if (kind) nonText.add(kind);
        break;
      }
      case "message_delta":
        if (event.delta?.stop_reason) finishReason = toFinishReason(event.delta.stop_reason);
        mergeUsage(usage, event.usage);
        break;
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

function mergeUsage(into: AnthropicUsage, from: AnthropicUsage | undefined): void {
  if (!from) return;
  for (const [key, value] of Object.entries(from) as [keyof AnthropicUsage, unknown][]) {
    if (typeof value === "number") into[key] = value;
  }
}
