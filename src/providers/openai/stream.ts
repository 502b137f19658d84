import { GatewayError } from "../../errors/gateway-error.js";
import type { ChatStreamEvent, FinishReason, TokenUsage } from "../provider.js";
import { decodeSse } from "../sse-decoder.js";
import { streamError } from "./errors.js";
import { type OpenAIUsage, toFinishReason, toUsage } from "./finish-reason.js";

interface ChatCompletionChunk {
  id?: string;
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: OpenAIUsage | null;
  error?: unknown;
}

/**
 * Turns a `chat.completion.chunk` SSE stream into an id, deltas and one finish event.
 * The finish waits for `[DONE]`, since usage arrives in a chunk after the finish reason.
 */
export async function* readChatStream(
  body: AsyncIterable<Uint8Array>,
  providerName: string,
): AsyncGenerator<ChatStreamEvent | { type: "id"; id: string }> {
  let finishReason: FinishReason = "unspecified";
  let usage: TokenUsage | undefined;
  let sawId = false;
  for await (const event of decodeSse(body)) {
    if (event.data === "[DONE]") {
      yield { type: "finish", finishReason, usage };
      return;
    }
    let chunk: ChatCompletionChunk;
    try {
      chunk = JSON.parse(event.data) as ChatCompletionChunk;
    } catch {
      throw new GatewayError("unavailable", `${providerName} sent a stream event that is not JSON`, {
        reason: "UPSTREAM_MALFORMED",
      });
    }
    if (chunk.error !== undefined) throw streamError(chunk.error, providerName);
    if (!sawId && chunk.id) {
      sawId = true;
      yield { type: "id", id: chunk.id };
    }
    const choice = chunk.choices?.[0];
    const text = choice?.delta?.content;
    if (text) yield { type: "delta", text };
    if (choice?.finish_reason) finishReason = toFinishReason(choice.finish_reason);
    if (chunk.usage) usage = toUsage(chunk.usage);
  }
  throw new GatewayError("unavailable", `${providerName} ended the stream before [DONE]`, {
    retryable: false,
    reason: "UPSTREAM_STREAM_CUT",
  });
}
