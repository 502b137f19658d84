import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type {
  GatewayService,
  GenerateRequest,
  GenerateStreamRequest,
  GenerateStreamResponseSchema,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import type { ChatRequest } from "../providers/provider.js";
import type { Deployment, ModelRouter, RoutableModel } from "../router/model-router.js";
import type { UpstreamPools } from "../upstream/upstream-pools.js";
import { toConnectError } from "./connect-errors.js";
import { rpcFactsKey } from "./rpc-facts.js";
import {
  finishReasonToProto,
  modelsToProto,
  poolStatsToProto,
  upstreamToProto,
  usageToProto,
} from "./to-proto.js";
import { type ValidationLimits, validateRequest } from "./validate-request.js";

type StreamEvent = MessageInitShape<typeof GenerateStreamResponseSchema>;

export interface GatewayServiceDeps {
  router: ModelRouter;
  pools: UpstreamPools;
  limits: ValidationLimits;
  startedAt: Date;
}

/** GatewayService: validate, route, call the provider, map the result and any error. */
export function createGatewayService(deps: GatewayServiceDeps): ServiceImpl<typeof GatewayService> {
  const { router, pools, limits, startedAt } = deps;

  function prepare(request: GenerateRequest | GenerateStreamRequest, ctx: HandlerContext) {
    const chat = validateRequest(request, limits);
    const { model, deployment } = router.route(request.model);
    const facts = ctx.values.get(rpcFactsKey);
    if (facts) {
      facts.model = model.name;
      facts.provider = deployment.provider.name;
      if (Object.keys(request.metadata).length > 0) facts.metadata = request.metadata;
    }
    const chatRequest: ChatRequest = { ...chat, model: deployment.model };
    return { model, deployment, chatRequest, facts };
  }

  return {
    async generate(request, ctx) {
      try {
        const { model, deployment, chatRequest, facts } = prepare(request, ctx);
        const result = await deployment.provider.generate(chatRequest, ctx.signal);
        if (facts) facts.connectionReused = result.upstream.connectionReused;
        return {
          id: result.id,
          text: result.text,
          finishReason: finishReasonToProto(result.finishReason),
          usage: usageToProto(result.usage),
          model: model.name,
          upstream: upstreamToProto(deployment.provider.name, deployment.model, result.upstream),
          nonTextContent: result.nonTextContent,
        };
      } catch (error) {
        throw toConnectError(error, ctx.signal);
      }
    },

    async *generateStream(request, ctx) {
      try {
        const { model, deployment, chatRequest, facts } = prepare(request, ctx);
        yield* streamEvents(model, deployment, chatRequest, ctx, (reused) => {
          if (facts) facts.connectionReused = reused;
        });
      } catch (error) {
        throw toConnectError(error, ctx.signal);
      }
    },

    poolStats() {
      return poolStatsToProto(pools.snapshot(), startedAt);
    },

    listModels() {
      return modelsToProto(router.list());
    },
  };
}

async function* streamEvents(
  model: RoutableModel,
  deployment: Deployment,
  request: ChatRequest,
  ctx: HandlerContext,
  onConnection: (reused: boolean) => void,
): AsyncGenerator<StreamEvent> {
  let upstream = upstreamToProto(deployment.provider.name, deployment.model, {
    origin: deployment.provider.origin,
    protocol: "",
    connectionReused: false,
    latencyMs: 0,
  });
  for await (const event of deployment.provider.stream(request, ctx.signal)) {
    switch (event.type) {
      case "start":
        upstream = upstreamToProto(deployment.provider.name, deployment.model, event.upstream);
        onConnection(event.upstream.connectionReused);
        yield { event: { case: "start", value: { id: event.id, model: model.name } } };
        break;
      case "delta":
        yield { event: { case: "delta", value: { text: event.text } } };
        break;
      case "finish":
        yield {
          event: {
            case: "finish",
            value: {
              finishReason: finishReasonToProto(event.finishReason),
              usage: usageToProto(event.usage),
              upstream,
            },
          },
        };
        break;
    }
  }
}
