import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type {
  GatewayService,
  GenerateRequest,
  GenerateStreamRequest,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import type { AccessControl } from "../access/access-control.js";
import { fetchKeyHeaders, presentedKey } from "../access/caller-keys.js";
import type { ModelRouter } from "../router/model-router.js";
import type { UpstreamPools } from "../upstream/upstream-pools.js";
import type { Workers } from "../workers/worker-messages.js";
import { toConnectError } from "./connect-errors.js";
import type { GenerationCall, GenerationCalls } from "./generation-calls.js";
import { generateReply, rpcGenerationCall, streamReplies } from "./generation-replies.js";
import { rpcArrival } from "./rpc-arrival.js";
import { type ModelsReport, type PoolsReport, summedModels, summedPoolStats } from "./summed-views.js";
import { modelsToProto, poolStatsToProto, usageRowToProto } from "./to-proto.js";
import { usageQuery } from "./usage-query.js";

export interface GatewayServiceDeps {
  router: ModelRouter;
  access: AccessControl;
  pools: UpstreamPools;
  calls: GenerationCalls;
  startedAt: Date;
  /** Set when this process is one of `server.workers`: PoolStats and ListModels sum them all. */
  workers?: Workers | undefined;
}

/** The methods whose calls the service observes itself (the rest, the server's interceptor does). */
export const SELF_OBSERVED_METHODS = new Set(["Generate", "GenerateStream"]);

/** GatewayService: each generation call taken through GenerationCalls, its result and errors mapped to the contract. */
export function createGatewayService(deps: GatewayServiceDeps): ServiceImpl<typeof GatewayService> {
  const { router, pools, calls, startedAt, access, workers } = deps;

  return {
    async generate(request, ctx) {
      try {
        return await generateReply(calls, generationCall("Generate", request, ctx));
      } catch (error) {
        throw toConnectError(error, ctx.signal);
      }
    },

    async *generateStream(request, ctx) {
      try {
        yield* streamReplies(calls, generationCall("GenerateStream", request, ctx));
      } catch (error) {
        throw toConnectError(error, ctx.signal);
      }
    },

    async poolStats(_request, ctx) {
      if (workers === undefined) return poolStatsToProto(pools.snapshot(), startedAt);
      try {
        return summedPoolStats(await workers.gather<PoolsReport>("pools"));
      } catch (error) {
        throw toConnectError(error, ctx.signal);
      }
    },

    async listModels(_request, ctx) {
      if (workers === undefined) return modelsToProto(router.list(), performance.now());
      try {
        return summedModels(await workers.gather<ModelsReport>("models"));
      } catch (error) {
        throw toConnectError(error, ctx.signal);
      }
    },

    async getUsage(request, ctx) {
      try {
        const caller = access.authenticate(keyOf(ctx));
        const rows = await access.usage(usageQuery(request, caller, new Date()));
        return { rows: rows.map(usageRowToProto) };
      } catch (error) {
        throw toConnectError(error, ctx.signal);
      }
    },
  };
}

function generationCall(
  method: string,
  request: GenerateRequest | GenerateStreamRequest,
  ctx: HandlerContext,
): GenerationCall {
  const arrival = rpcArrival(method, { header: ctx.requestHeader, values: ctx.values });
  return rpcGenerationCall(arrival, request, ctx.signal, ctx.timeoutMs(), {
    presentedKey: keyOf(ctx),
    replyHeader: (name, value) => ctx.responseHeader.set(name, value),
    cacheControl: ctx.requestHeader.get("cache-control") ?? undefined,
  });
}

function keyOf(ctx: HandlerContext): string | undefined {
  return presentedKey(fetchKeyHeaders(ctx.requestHeader));
}
