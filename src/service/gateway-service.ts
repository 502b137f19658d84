import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type {
  GatewayService,
  GenerateRequest,
  GenerateStreamRequest,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import type { ModelRouter, Routed } from "../router/model-router.js";
import type { UpstreamPools } from "../upstream/upstream-pools.js";
import { toConnectError } from "./connect-errors.js";
import type { GenerationCall, GenerationCalls } from "./generation-calls.js";
import { rpcArrival } from "./rpc-arrival.js";
import {
  contentToProto,
  deltaToProto,
  finishReasonToProto,
  modelsToProto,
  poolStatsToProto,
  upstreamToProto,
  usageToProto,
} from "./to-proto.js";

export interface GatewayServiceDeps {
  router: ModelRouter;
  pools: UpstreamPools;
  calls: GenerationCalls;
  startedAt: Date;
}

/** The methods whose calls the service observes itself (the rest, the server's interceptor does). */
export const SELF_OBSERVED_METHODS = new Set(["Generate", "GenerateStream"]);

/** GatewayService: each generation call taken through GenerationCalls, its result and errors mapped to the contract. */
export function createGatewayService(deps: GatewayServiceDeps): ServiceImpl<typeof GatewayService> {
  const { router, pools, calls, startedAt } = deps;

  return {
    async generate(request, ctx) {
      try {
        const routed = await calls.generate(generationCall("Generate", request, ctx));
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
      } catch (error) {
        throw toConnectError(error, ctx.signal);
      }
    },

    async *generateStream(request, ctx) {
      try {
        let routed: Routed<unknown> | undefined;
        let upstream: ReturnType<typeof upstreamToProto> | undefined;
        for await (const step of calls.stream(generationCall("GenerateStream", request, ctx))) {
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
      } catch (error) {
        throw toConnectError(error, ctx.signal);
      }
    },

    poolStats() {
      return poolStatsToProto(pools.snapshot(), startedAt);
    },

    listModels() {
      return modelsToProto(router.list(), performance.now());
    },
  };
}

function generationCall(
  method: string,
  request: GenerateRequest | GenerateStreamRequest,
  ctx: HandlerContext,
): GenerationCall {
  return {
    ...rpcArrival(method, { header: ctx.requestHeader, values: ctx.values }),
    signal: ctx.signal,
    timeoutMs: ctx.timeoutMs(),
    input: request,
    metadata: Object.keys(request.metadata).length > 0 ? request.metadata : undefined,
  };
}
