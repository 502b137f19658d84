import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type ListModelsResponseSchema,
  type PoolCountersSchema,
  type PoolStatsResponseSchema,
  FinishReason as ProtoFinishReason,
  type UpstreamInfoSchema,
  type UsageSchema,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import type { FinishReason, TokenUsage, UpstreamFacts } from "../providers/provider.js";
import type { RoutableModel } from "../router/model-router.js";
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
  const { inputTokens, outputTokens } = usage;
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
}

export function upstreamToProto(
  provider: string,
  model: string,
  facts: UpstreamFacts,
): MessageInitShape<typeof UpstreamInfoSchema> {
  return {
    provider,
    model,
    origin: facts.origin,
    protocol: facts.protocol,
    connectionReused: facts.connectionReused,
    attempts: 1,
    cached: false,
    upstreamLatencyMs: facts.latencyMs,
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

function countersToProto(c: CountersSnapshot): MessageInitShape<typeof PoolCountersSchema> {
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

export function modelsToProto(models: RoutableModel[]): MessageInitShape<typeof ListModelsResponseSchema> {
  return {
    models: models.map((m) => ({
      name: m.name,
      aliases: m.aliases,
      deployments: m.deployments.map((d) => ({
        provider: d.provider.name,
        model: d.model,
        origin: d.provider.origin,
      })),
    })),
  };
}
