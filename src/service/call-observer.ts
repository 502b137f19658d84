import { Code } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { Logger } from "../log/logger.js";
import type { GatewayMetrics } from "../metrics/gateway-metrics.js";
import { toConnectError, UNEXPECTED_ERROR_MESSAGE } from "./connect-errors.js";

/** The API a call came through: the three RPC protocols, or the OpenAI-compatible HTTP API. */
export type CallProtocol = "grpc" | "grpc-web" | "connect" | "openai";

/** What is known of a call when it arrives. */
export interface CallArrival {
  /** The RPC's method name, or ChatCompletions on the OpenAI API. */
  method: string;
  protocol: CallProtocol;
  /** "1.1" or "2.0", as the server saw the request. */
  http: string | undefined;
  /** Health probes and reflection: logged at debug, or they would drown the log at info. */
  infrastructure?: boolean;
}

/** What a generation learned on its way, returned with its result. */
export interface CallFacts {
  model?: string | undefined;
  provider?: string | undefined;
  /** Upstream attempts the router made. */
  attempts?: number | undefined;
  connectionReused?: boolean | undefined;
  /** Time spent waiting on upstreams, in ms: the call's duration minus this is the gateway's own. */
  upstreamWaitMs?: number | undefined;
  /** The name of the caller's key (never the key). */
  key?: string | undefined;
  /** The caller's metadata, logged and never sent upstream. */
  metadata?: Record<string, string> | undefined;
}

/** Reports a call once, at its end: its error (undefined when it succeeded) and its facts. */
export type EndCall = (error: unknown, facts?: CallFacts) => void;

/**
 * Watches every call, of every API, to its end (a stream's end, not its first message) and
 * reports it once, the same way: one log line (method, protocol, model, code, duration, upstream
 * reuse) and the call metrics, including the gateway's own added time. An INTERNAL error is
 * logged under `err` with its cause chain; the caller saw none of it.
 */
export class CallObserver {
  constructor(
    private readonly logger: Logger,
    private readonly metrics: GatewayMetrics,
  ) {}

  /** Without the caller's signal (a refusal before any call), the code is judged from the error alone. */
  begin(arrival: CallArrival, signal?: AbortSignal): EndCall {
    const startedAt = performance.now();
    let ended = false;
    return (error, facts = {}) => {
      if (ended) return;
      ended = true;
      this.report(
        arrival,
        performance.now() - startedAt,
        error === undefined ? undefined : toConnectError(error, signal),
        facts,
      );
    };
  }

  private report(
    { method, protocol, http, infrastructure }: CallArrival,
    durationMs: number,
    error: ReturnType<typeof toConnectError> | undefined,
    facts: CallFacts,
  ): void {
    const code = error === undefined ? "ok" : codeToString(error.code);
    this.metrics.rpcs.inc({ method, protocol, code });
    this.metrics.rpcDuration.observe({ method, protocol }, durationMs / 1000);
    if (facts.upstreamWaitMs !== undefined)
      this.metrics.overhead.observe({ method }, Math.max(0, durationMs - facts.upstreamWaitMs) / 1000);
    const entry = {
      method,
      protocol,
      http,
      key: facts.key,
      model: facts.model,
      provider: facts.provider,
      code,
      durationMs: Math.round(durationMs * 1000) / 1000,
      upstreamReused: facts.connectionReused,
      attempts: facts.attempts,
      metadata: facts.metadata,
      ...(error === undefined ? {} : { error: error.rawMessage }),
    };
    // An unexpected error is a bug of ours: an error, whole. Other INTERNAL (a message that does not
    // parse, an upstream's 500) is the caller's or the upstream's: a warning, or callers could flood the error log.
    if (error?.code === Code.Internal && error.rawMessage === UNEXPECTED_ERROR_MESSAGE)
      this.logger.error({ ...entry, err: error.cause ?? error }, "rpc");
    else if (error?.code === Code.Internal) this.logger.warn({ ...entry, err: error.cause ?? error }, "rpc");
    else if (infrastructure) this.logger.debug(entry, "rpc");
    else this.logger.info(entry, "rpc");
  }
}

/** gRPC, gRPC-Web or Connect, told by the request's content type (Connect GET has none). */
export function rpcProtocol(contentType: string | null): Exclude<CallProtocol, "openai"> {
  if (contentType?.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType?.startsWith("application/grpc")) return "grpc";
  return "connect";
}
