import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type {
  GatewayService,
  GenerateRequest,
  GenerateStreamRequest,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import type { GatewayMetrics } from "../metrics/gateway-metrics.js";
import type { CallBounds, ModelRouter, Routed } from "../router/model-router.js";
import type { UpstreamPools } from "../upstream/upstream-pools.js";
import { toConnectError } from "./connect-errors.js";
import { type RpcFacts, rpcFactsKey } from "./rpc-facts.js";
import { openStream, relayStream } from "./stream-relay.js";
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
  startedAt: Date;
}

/** GatewayService: validate, route, call the provider, map the result and any error. */
export function createGatewayService(deps: GatewayServiceDeps): ServiceImpl<typeof GatewayService> {
  const { router, pools, metrics, limits, startedAt } = deps;

  return {
    async generate(request, ctx) {
      try {
        const chat = validateRequest(request, limits);
        const facts = factsOf(ctx, request);
        const observer = new UpstreamObserver(metrics, facts);
        const routed = await router.run(
          request.model,
          async (deployment) => {
            const attemptStartedAt = performance.now();
            try {
              const result = await observer.wait(
                deployment.provider.generate({ ...chat, model: deployment.model }, ctx.signal),
              );
              observer.attempt(deployment, undefined, attemptStartedAt);
              return result;
            } catch (error) {
              observer.attempt(deployment, error, attemptStartedAt);
              throw error;
            }
          },
          boundsOf(ctx),
        );
        routed.release();
        const result = routed.value;
        noteServed(facts, routed, result.upstream.connectionReused);
        observer.tokens(routed.deployment, routed.model.name, result.usage);
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
      }
    },

    async *generateStream(request, ctx) {
      try {
        const chat = validateRequest(request, limits);
        const facts = factsOf(ctx, request);
        const observer = new UpstreamObserver(metrics, facts);
        const routed = await router.run(
          request.model,
          (deployment) => openStream(deployment, chat, ctx.signal, observer),
          boundsOf(ctx),
        );
        noteServed(facts, routed, false);
        yield* relayStream(routed, facts, observer);
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

function boundsOf(ctx: HandlerContext): CallBounds {
  const timeoutMs = ctx.timeoutMs();
  return {
    signal: ctx.signal,
    deadline: timeoutMs === undefined ? undefined : performance.now() + timeoutMs,
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

function noteServed(facts: RpcFacts | undefined, routed: Routed<unknown>, reused: boolean): void {
  if (!facts) return;
  facts.model = routed.model.name;
  facts.provider = routed.deployment.provider.name;
  facts.attempts = routed.attempts;
  facts.connectionReused = reused;
}
