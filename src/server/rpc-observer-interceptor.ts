import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { Logger } from "../log/logger.js";
import type { GatewayMetrics } from "../metrics/gateway-metrics.js";
import { type RpcFacts, rpcFactsKey } from "../service/rpc-facts.js";

/** gRPC, gRPC-Web or Connect, told by the request's content type (Connect GET has none). */
export function rpcProtocol(contentType: string | null): "grpc" | "grpc-web" | "connect" {
  if (contentType?.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType?.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/**
 * Watches every RPC to its end (a stream's end, not its first message) and reports it once:
 * one log line (method, protocol, model, code, duration, upstream connection reuse) and the
 * RPC metrics, including the gateway's own added time.
 */
export function rpcObserverInterceptor(logger: Logger, metrics: GatewayMetrics): Interceptor {
  return (next) => async (req) => {
    const startedAt = performance.now();
    const facts: RpcFacts = req.contextValues.get(rpcFactsKey) ?? {};
    const method = req.method.name;
    // Health probes and reflection would drown the RPC log at info.
    const infrastructure = req.service.typeName.startsWith("grpc.");
    const protocol = rpcProtocol(req.header.get("content-type"));
    const report = (error: unknown) => {
      const durationMs = performance.now() - startedAt;
      const connectError = error === undefined ? undefined : ConnectError.from(error);
      const code = connectError === undefined ? "ok" : codeToString(connectError.code);
      metrics.rpcs.inc({ method, protocol, code });
      metrics.rpcDuration.observe({ method, protocol }, durationMs / 1000);
      if (facts.upstreamWaitMs !== undefined) {
        metrics.overhead.observe({ method }, Math.max(0, durationMs - facts.upstreamWaitMs) / 1000);
      }
      const entry = {
        method,
        protocol,
        http: facts.httpVersion,
        model: facts.model,
        provider: facts.provider,
        code,
        durationMs: Math.round(durationMs * 1000) / 1000,
        upstreamReused: facts.connectionReused,
        attempts: facts.attempts,
        metadata: facts.metadata,
        ...(connectError === undefined ? {} : { error: connectError.rawMessage }),
      };
      if (connectError?.code === Code.Internal) logger.error({ ...entry, cause: connectError.cause }, "rpc");
      else if (infrastructure) logger.debug(entry, "rpc");
      else logger.info(entry, "rpc");
    };
    try {
      const res = await next(req);
      if (!res.stream) {
        report(undefined);
        return res;
      }
      return { ...res, message: reportWhenDone(res.message, report) };
    } catch (error) {
      report(error);
      throw error;
    }
  };
}

async function* reportWhenDone<T>(
  messages: AsyncIterable<T>,
  report: (error: unknown) => void,
): AsyncGenerator<T> {
  let settled = false;
  try {
    yield* messages;
    settled = true;
    report(undefined);
  } catch (error) {
    settled = true;
    report(error);
    throw error;
  } finally {
    // The caller went away before the stream ended.
    if (!settled) report(new ConnectError("the caller cancelled the stream", Code.Canceled));
  }
}
