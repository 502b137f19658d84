import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  GenerateRequest,
  GenerateResponseSchema,
  GenerateStreamRequest,
  GenerateStreamResponseSchema,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import type { Routed } from "../router/model-router.js";
import type { CallArrival } from "./call-observer.js";
import type { GenerationCall, GenerationCalls } from "./generation-calls.js";
import {
  contentToProto,
  deltaToProto,
  finishReasonToProto,
  upstreamToProto,
  usageToProto,
} from "./to-proto.js";

/**
 * What the generation RPCs answer, in the contract's messages, whichever server carries them
 * (Connect's adapter, or the lean gRPC path). Errors are thrown as they come: each server renders
 * them in its protocol.
 */

/** A generation RPC as GenerationCalls takes it. */
export function rpcGenerationCall(
  arrival: CallArrival,
  request: GenerateRequest | GenerateStreamRequest,
  signal: AbortSignal,
  timeoutMs: number | undefined,
  caller: Pick<GenerationCall, "presentedKey" | "replyHeader" | "cacheControl">,
): GenerationCall {
  return {
    ...arrival,
    ...caller,
    signal,
    timeoutMs,
    input: request,
    metadata: Object.keys(request.metadata).length > 0 ? request.metadata : undefined,
  };
}

export async function generateReply(
  calls: GenerationCalls,
  call: GenerationCall,
): Promise<MessageInitShape<typeof GenerateResponseSchema>> {
  const routed = await calls.generate(call);
  const result = routed.value;
  return {
    id: result.id,
    text: result.text,
    finishReason: finishReasonToProto(result.finishReason),
    usage: usageToProto(result.usage),
    model: routed.model.name,
    upstream: upstreamToProto(routed, result.upstream),
    nonTextContent: result.nonTextContent,
    ...contentToProto(result),
  };
}

export async function* streamReplies(
  calls: GenerationCalls,
  call: GenerationCall,
): AsyncGenerator<MessageInitShape<typeof GenerateStreamResponseSchema>> {
  let routed: Routed<unknown> | undefined;
  let upstream: ReturnType<typeof upstreamToProto> | undefined;
  for await (const step of calls.stream(call)) {
    if (step.type === "routed") {
      routed = step.routed;
      upstream = upstreamToProto(routed, undefined);
      continue;
    }
    // Never: the routed step comes first.
    if (routed === undefined) continue;
    switch (step.type) {
      case "start":
        upstream = upstreamToProto(routed, step.upstream);
        yield { event: { case: "start", value: { id: step.id, model: routed.model.name } } };
        break;
      case "finish": {
        const { finishReason, usage, nonTextContent } = step;
        const value = {
          finishReason: finishReasonToProto(finishReason),
          usage: usageToProto(usage),
          upstream,
          nonTextContent,
          ...contentToProto(step),
        };
        yield { event: { case: "finish", value } };
        break;
      }
      default:
        yield deltaToProto(step);
    }
  }
}
