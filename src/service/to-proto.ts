import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type GenerateStreamResponseSchema,
  type ListModelsResponseSchema,
  type PoolCountersSchema,
  type PoolStatsResponseSchema,
  FinishReason as ProtoFinishReason,
  type UpstreamInfoSchema,
  type UsageRowSchema,
  type UsageSchema,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import type { UsageRow } from "../access/usage-rows.js";
import type {
  ContentDelta,
  FinishReason,
  ParsedCompletion,
  TokenUsage,
  UpstreamFacts,
} from "../providers/provider.js";
import type { RoutableModel, Routed } from "../router/model-router.js";
import type { CountersSnapshot, OriginSnapshot } from "../upstream/origin-counters.js";

const FINISH_REASONS: Record<FinishReason, ProtoFinishReason> = {
  stop: ProtoFinishReason.STOP,
  length: ProtoFinishReason.LENGTH,
  content_filter: ProtoFinishReason.CONTENT_FILTER,
  tool_calls: ProtoFinishReason.TOOL_CALLS,
  unspecified: ProtoFinishReason.UNSPECIFIED,
};

export function finishReasonToProto(reason: FinishReason): ProtoFinishReason {
  return FINISH_REASONS[reason];
}

export function usageToProto(
  usage: TokenUsage | undefined,
): MessageInitShape<typeof UsageSchema> | undefined {
  if (usage === undefined) return undefined;
  const { inputTokens, outputTokens, cachedInputTokens = 0, reasoningTokens = 0, costUsd = 0 } = usage;
  return {
    inputTokens,
    outputTokens,
    totalTokens: inputTokens + outputTokens,
    cachedInputTokens,
    reasoningTokens,
    costUsd,
  };
}

export function usageRowToProto(row: UsageRow): MessageInitShape<typeof UsageRowSchema> {
  return {
    ...row,
    requests: BigInt(row.requests),
    inputTokens: BigInt(row.inputTokens),
    outputTokens: BigInt(row.outputTokens),
    cachedInputTokens: BigInt(row.cachedInputTokens),
    estimatedRequests: BigInt(row.estimatedRequests),
    unpricedRequests: BigInt(row.unpricedRequests),
  };
}

/** Tool calls, reasoning and refusal, as GenerateResponse and StreamFinish carry them. */
export function contentToProto({
  toolCalls,
  reasoning,
  refusal,
}: Pick<ParsedCompletion, "toolCalls" | "reasoning" | "refusal">) {
  return {
    toolCalls,
    reasoning: reasoning.map(({ text, signature = "", redactedData = "" }) => ({
      text,
      signature,
      redactedData,
    })),
    refusal,
  };
}

/** A stream's pieces as GenerateStreamResponse events. */
export function deltaToProto(delta: ContentDelta): MessageInitShape<typeof GenerateStreamResponseSchema> {
  switch (delta.type) {
    case "delta":
      return { event: { case: "delta", value: { text: delta.text } } };
    case "refusal_delta":
      return { event: { case: "delta", value: { refusal: delta.text } } };
    case "tool_call_delta": {
      const { index, id = "", name = "", arguments: args } = delta;
      return { event: { case: "toolCall", value: { index, id, name, arguments: args } } };
    }
    case "reasoning_delta": {
      const { index, text = "", signature = "", redactedData = "" } = delta;
      return { event: { case: "reasoning", value: { index, text, signature, redactedData } } };
    }
  }
}

/** Who served a request and how; before the stream has started, only who. */
export function upstreamToProto(
  routed: Routed<unknown>,
  facts: UpstreamFacts | undefined,
): MessageInitShape<typeof UpstreamInfoSchema> {
  return {
    provider: routed.deployment.provider.name,
    model: routed.deployment.model,
    origin: facts?.origin ?? routed.deployment.provider.origin,
    protocol: facts?.protocol ?? "",
    connectionReused: facts?.connectionReused ?? false,
    attempts: routed.attempts,
    cached: facts?.cached ?? false,
    // To the microsecond: a reading of performance.now() differences carries noise past that.
    upstreamLatencyMs: Math.round((facts?.latencyMs ?? 0) * 1000) / 1000,
  };
}

export function poolStatsToProto(
  snapshot: { totals: CountersSnapshot; origins: OriginSnapshot[] },
  startedAt: Date,
): MessageInitShape<typeof PoolStatsResponseSchema> {
  return {
    totals: countersToProto(snapshot.totals),
    origins: snapshot.origins.map((o) => ({
      origin: o.origin,
      protocol: o.protocol,
      pooling: o.pooling,
      counters: countersToProto(o.counters),
    })),
    startedAt: timestampFromDate(startedAt),
  };
}

export function countersToProto(c: CountersSnapshot): MessageInitShape<typeof PoolCountersSchema> {
  return {
    requestsTotal: BigInt(c.requestsTotal),
    connectionsCreatedTotal: BigInt(c.connectionsCreatedTotal),
    requestsOnReusedConnections: BigInt(c.requestsOnReusedConnections),
    reuseRate: c.reuseRate,
    avgConnectionsPerRequest: c.avgConnectionsPerRequest,
    activeConnections: c.activeConnections,
    idleConnections: c.idleConnections,
    inFlight: c.inFlight,
    queued: c.queued,
    connectErrorsTotal: BigInt(c.connectErrorsTotal),
    tlsSessionsResumedTotal: BigInt(c.tlsSessionsResumedTotal),
    connectTimeCount: BigInt(c.connectTimeCount),
    connectTimeSumMs: c.connectTimeSumMs,
    connectTimeMaxMs: c.connectTimeMaxMs,
  };
}

export function modelsToProto(
  models: RoutableModel[],
  now: number,
): MessageInitShape<typeof ListModelsResponseSchema> {
  return {
    models: models.map((m) => ({
      name: m.name,
      aliases: m.aliases,
      fallbacks: m.fallbacks,
      deployments: m.deployments.map(({ provider, model, weight, health }) => ({
        provider: provider.name,
        model,
        origin: provider.origin,
        weight,
        state: health.state(now),
        inFlight: health.inFlight,
        consecutiveFailures: health.consecutiveFailures,
        cooldownRemainingMs: health.cooldownRemainingMs(now),
        requestsTotal: BigInt(health.requestsTotal),
        failuresTotal: BigInt(health.failuresTotal),
      })),
    })),
  };
}
