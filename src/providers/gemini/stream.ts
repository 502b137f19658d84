import { GatewayError } from "../../errors/gateway-error.js";
import type { WireStreamEvent } from "../provider.js";
import { decodeSse, parseEventData } from "../sse-decoder.js";
import { streamError } from "./errors.js";
import { finishReasonOf, type GeminiUsage, toUsage } from "./finish-reason.js";
import { type GenerateContentResponse, PartReader } from "./response.js";

/**
 * Turns `:streamGenerateContent?alt=sse` into an id, pieces and one finish event. Every `data:`
 * event is a GenerateContentResponse; the last candidate chunk carries the finish reason, and
 * each chunk's usageMetadata replaces the one before. Gemini sends no end marker: the stream is
 * whole when its body ends after a finish reason (or a blocked prompt), and cut otherwise. An
 * `{"error": ...}` event ends it with that error.
 */
export async function* readGenerateContentStream(
  body: AsyncIterable<Uint8Array>,
  provider: string,
): AsyncGenerator<WireStreamEvent> {
  const reader = new PartReader(provider);
  let sawId = false;
  let finishReason: string | undefined;
  let blockReason: string | undefined;
  let usage: GeminiUsage | undefined;
  for await (const event of decodeSse(body, provider)) {
    const chunk = parseEventData<GenerateContentResponse & { error?: unknown }>(event.data, provider);
    if (typeof chunk?.error === "object" && chunk.error !== null) throw streamError(chunk.error, provider);
    if (!sawId) {
      sawId = true;
      yield { type: "id", id: chunk?.responseId ?? "" };
    }
    const candidate = chunk?.candidates?.[0];
    yield* reader.read(candidate?.content?.parts);
    finishReason = candidate?.finishReason ?? finishReason;
    blockReason = chunk?.promptFeedback?.blockReason ?? blockReason;
    usage = chunk?.usageMetadata ?? usage;
  }
  if (finishReason === undefined && blockReason === undefined)
    throw new GatewayError("unavailable", `${provider} ended the stream before a finish reason`, {
      reason: "UPSTREAM_STREAM_CUT",
    });
  yield {
    type: "finish",
    finishReason: finishReasonOf(finishReason, blockReason, reader.madeToolCalls),
    usage: toUsage(usage),
    nonTextContent: [...reader.nonText],
  };
}
