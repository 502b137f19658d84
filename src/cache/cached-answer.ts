import type { ContentDelta, ParsedCompletion, StreamFinish, UpstreamFacts } from "../providers/provider.js";

/** An answer as the cache keeps it: the completion, the stream's pieces as they came, who served it. */
export interface CachedAnswer {
  /** Epoch ms when it was answered. */
  createdAt: number;
  /** The deployment that served it: its provider's name and the model it was asked for. */
  provider: string;
  deploymentModel: string;
  origin: string;
  protocol: string;
  completion: ParsedCompletion;
  /** The stream's pieces in order; undefined when it was answered whole (replayed as one piece each). */
  deltas: ContentDelta[] | undefined;
}

/** The pieces a streaming caller is replayed: as they came, or the whole answer's parts in order. */
export function replayDeltas({ completion, deltas }: CachedAnswer): ContentDelta[] {
  if (deltas !== undefined) return deltas;
  const pieces: ContentDelta[] = [];
  completion.reasoning.forEach((reasoning, index) => {
    pieces.push({ type: "reasoning_delta", index, text: reasoning.text });
    if (reasoning.signature || reasoning.redactedData)
      pieces.push({
        type: "reasoning_delta",
        index,
        signature: reasoning.signature,
        redactedData: reasoning.redactedData,
      });
  });
  if (completion.text) pieces.push({ type: "delta", text: completion.text });
  if (completion.refusal) pieces.push({ type: "refusal_delta", text: completion.refusal });
  completion.toolCalls.forEach(({ id, name, arguments: args }, index) => {
    pieces.push({ type: "tool_call_delta", index, id, name, arguments: args });
  });
  return pieces;
}

/** The finish event of a replayed stream. */
export function replayFinish({ completion }: CachedAnswer): StreamFinish {
  const { finishReason, usage, nonTextContent, toolCalls, reasoning, refusal } = completion;
  return { type: "finish", finishReason, usage, nonTextContent, toolCalls, reasoning, refusal };
}

/** What a replayed answer says of its upstream: where the original came from, and that it is cached. */
export function replayFacts(answer: CachedAnswer): UpstreamFacts {
  return {
    origin: answer.origin,
    protocol: answer.protocol,
    connectionReused: false,
    latencyMs: 0,
    cached: true,
  };
}
