import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type {
  GatewayService,
  GenerateRequest,
  GenerateStreamRequest,
  GenerateStreamResponseSchema,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import type { ChatRequest, ChatStreamEvent } from "../providers/provider.js";
import type { CallBounds, Deployment, ModelRouter, Routed } from "../router/model-router.js";
import type { UpstreamPools } from "../upstream/upstream-pools.js";
import { toConnectError } from "./connect-errors.js";
import { type RpcFacts, rpcFactsKey } from "./rpc-facts.js";
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

  return {
    async generate(request, ctx) {
      try {
        const chat = validateRequest(request, limits);
        const facts = factsOf(ctx, request);
        const routed = await router.run(
          request.model,
          (d) => d.provider.generate({ ...chat, model: d.model }, ctx.signal),
          boundsOf(ctx),
        );
        routed.release();
        const result = routed.value;
        noteServed(facts, routed, result.upstream.connectionReused);
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
        const routed = await router.run(request.model, (d) => openStream(d, chat, ctx.signal), boundsOf(ctx));
        yield* relayStream(routed, facts);
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

interface OpenedStream {
  iterator: AsyncIterator<ChatStreamEvent>;
  /** Events read before the stream was handed to the caller: the start and the first content. */
  head: ChatStreamEvent[];
}

/**
 * Opens a stream and reads up to its first content event: until then nothing has reached the
 * caller, so a failure may still be retried elsewhere.
 */
async function openStream(deployment: Deployment, chat: Omit<ChatRequest, "model">, signal: AbortSignal) {
  const iterator = deployment.provider
    .stream({ ...chat, model: deployment.model }, signal)
    [Symbol.asyncIterator]();
  const head: ChatStreamEvent[] = [];
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      head.push(next.value);
      if (next.value.type !== "start") break;
    }
  } catch (error) {
    await iterator.return?.();
    throw error;
  }
  return { iterator, head } satisfies OpenedStream;
}

async function* relayStream(
  routed: Routed<OpenedStream>,
  facts: RpcFacts | undefined,
): AsyncGenerator<StreamEvent> {
  const { iterator, head } = routed.value;
  let failure: unknown;
  try {
    let upstream = upstreamToProto(routed, undefined);
    const events = (async function* () {
      yield* head;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    })();
    for await (const event of events) {
      switch (event.type) {
        case "start":
          upstream = upstreamToProto(routed, event.upstream);
          noteServed(facts, routed, event.upstream.connectionReused);
          yield { event: { case: "start", value: { id: event.id, model: routed.model.name } } };
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
                nonTextContent: event.nonTextContent,
              },
            },
          };
          break;
      }
    }
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    // The caller may have gone: the provider's stream must end too.
    await iterator.return?.();
    routed.release(failure);
  }
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
