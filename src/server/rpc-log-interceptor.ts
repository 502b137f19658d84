import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { Logger } from "../log/logger.js";
import { type RpcFacts, rpcFactsKey } from "../service/rpc-facts.js";

/** gRPC, gRPC-Web or Connect, told by the request's content type (Connect GET has none). */
export function rpcProtocol(contentType: string | null): "grpc" | "grpc-web" | "connect" {
  if (contentType?.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType?.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/** One log line per RPC: method, protocol, model, code, duration and upstream connection reuse. */
export function rpcLogInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const startedAt = performance.now();
    const facts: RpcFacts = req.contextValues.get(rpcFactsKey) ?? {};
    const line = (error: unknown) => {
      const code = error === undefined ? "ok" : codeToString(ConnectError.from(error).code);
      const entry = {
        method: req.method.name,
        protocol: rpcProtocol(req.header.get("content-type")),
        http: facts.httpVersion,
        model: facts.model,
        provider: facts.provider,
        code,
        durationMs: Math.round((performance.now() - startedAt) * 1000) / 1000,
        upstreamReused: facts.connectionReused,
        attempts: facts.attempts,
        metadata: facts.metadata,
        ...(error === undefined ? {} : { error: ConnectError.from(error).rawMessage }),
      };
      const internal = error !== undefined && ConnectError.from(error).code === Code.Internal;
      if (internal) logger.error({ ...entry, cause: (error as Error).cause ?? error }, "rpc");
      else logger.info(entry, "rpc");
    };
    try {
      const res = await next(req);
      if (!res.stream) {
        line(undefined);
        return res;
      }
      return { ...res, message: logWhenDone(res.message, line) };
    } catch (error) {
      line(error);
      throw error;
    }
  };
}

async function* logWhenDone<T>(
  messages: AsyncIterable<T>,
  line: (error: unknown) => void,
): AsyncGenerator<T> {
  let settled = false;
  try {
    yield* messages;
    settled = true;
    line(undefined);
  } catch (error) {
    settled = true;
    line(error);
    throw error;
  } finally {
    // The caller went away before the stream ended.
    if (!settled) line(new ConnectError("the caller cancelled the stream", Code.Canceled));
  }
}
