import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { CallObserver } from "../service/call-observer.js";
import { rpcArrival } from "../service/rpc-arrival.js";

/**
 * Observes the RPCs the service does not observe itself (PoolStats, ListModels, health,
 * reflection) through the same CallObserver as the generation calls: one log line shape and
 * one set of metrics for every call. A stream is reported at its end, not at its first message.
 */
export function rpcObserverInterceptor(
  observer: CallObserver,
  observedElsewhere: (service: string, method: string) => boolean,
): Interceptor {
  return (next) => async (req) => {
    const method = req.method.name;
    if (observedElsewhere(req.service.typeName, method)) return next(req);
    // Health probes and reflection would drown the log at info.
    const infrastructure = req.service.typeName.startsWith("grpc.");
    const arrival = rpcArrival(method, { header: req.header, values: req.contextValues }, infrastructure);
    const end = observer.begin(arrival, req.signal);
    try {
      const res = await next(req);
      if (!res.stream) {
        end(undefined);
        return res;
      }
      return { ...res, message: endWhenDone(res.message, end) };
    } catch (error) {
      end(error);
      throw error;
    }
  };
}

async function* endWhenDone<T>(messages: AsyncIterable<T>, end: (error: unknown) => void): AsyncGenerator<T> {
  let settled = false;
  try {
    yield* messages;
    settled = true;
    end(undefined);
  } catch (error) {
    settled = true;
    end(error);
    throw error;
  } finally {
    // The caller went away before the stream ended.
    if (!settled) end(new ConnectError("the caller cancelled the stream", Code.Canceled));
  }
}
