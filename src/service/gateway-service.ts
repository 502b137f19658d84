import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type {
  GatewayService,
  GenerateRequest,
  GenerateStreamRequest,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import type { GatewayMetrics } from "../metrics/gateway-metrics.js";
import type { ModelRouter } from "../router/model-router.js";
import type { UpstreamPools } from "../upstream/upstream-pools.js";
import { boundCall } from "./call-bounds.js";
import { toConnectError } from "./connect-errors.js";
import { generate, generateStream } from "./generation.js";
import { type RpcFacts, rpcFactsKey } from "./rpc-facts.js";
import {
  finishReasonToProto,
  modelsToProto,
  poolStatsToProto,
  upstreamToProto,
  usageToProto,
} from "./to-proto.js";
import { UpstreamObserver } from "./upstream-observer.js";
import { type ValidationLimits, validateRequest } from "./validate-request.js";

export interface GatewayServiceDeps {
  router: ModelRouter;
  pools: UpstreamPools;
  metrics: GatewayMetrics;
  limits: ValidationLimits;
  /** The deadline of a call whose caller sets none, ms. */
  defaultDeadlineMs: number;
  startedAt: Date;
}

/** GatewayService: validate, route, call the provider, map the result and any error. */
export function createGatewayService(deps: GatewayServiceDeps): ServiceImpl<typeof GatewayService> {
  const { router, pools, metrics, limits, defaultDeadlineMs, startedAt } = deps;

  return {
    async generate(request, ctx) {
      const bounds = boundCall(ctx.signal, ctx.timeoutMs(), defaultDeadlineMs);
      try {
        const chat = validateRequest(request, limits);
        const facts = factsOf(ctx, request);
        const observer = new UpstreamObserver(metrics, facts);
        const routed = await generate(router, request.model, chat, bounds, observer, facts);
        const result = routed.value;
        return {
          id: result.id,
          text: result.text,
          finishReason: finishReasonToProto(result.finishReason),
          usage: usageToProto(result.usage),
          model: routed.model.name,
          upstream: upstreamToProto(routed, result.upstream),
          nonTextContent: result.nonTextContent,
        };
      } catch (error) {
        throw toConnectError(error, ctx.signal);
      } finally {
        bounds.end();
      }
    },

    async *generateStream(request, ctx) {
      const bounds = boundCall(ctx.signal, ctx.timeoutMs(), defaultDeadlineMs);
      try {
        const chat = validateRequest(request, limits);
        const facts = factsOf(ctx, request);
        const observer = new UpstreamObserver(metrics, facts);
        const { routed, events } = await generateStream(router, request.model, chat, bounds, observer, facts);
        let upstream = upstreamToProto(routed, undefined);
        for await (const event of events) {
          switch (event.type) {
            case "start":
              upstream = upstreamToProto(routed, event.upstream);
              yield { event: { case: "start", value: { id: event.id, model: routed.model.name } } };
              break;
            case "delta":
              yield { event: { case: "delta", value: { text: event.text } } };
              break;
            case "finish": {
              const { finishReason, usage, nonTextContent } = event;
              const value = {
                finishReason: finishReasonToProto(finishReason),
                usage: usageToProto(usage),
                upstream,
                nonTextContent,
              };
              yield { event: { case: "finish", value } };
              break;
            }
          }
        }
      } catch (error) {
        throw toConnectError(error, ctx.signal);
      } finally {
        bounds.end();
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

function factsOf(
  ctx: HandlerContext,
  request: GenerateRequest | GenerateStreamRequest,
): RpcFacts | undefined {
  const facts = ctx.values.get(rpcFactsKey);
  if (facts === undefined) return undefined;
  facts.model = request.model;
  if (Object.keys(request.metadata).length > 0) facts.metadata = request.metadata;
  return facts;
}
