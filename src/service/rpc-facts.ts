import { createContextKey } from "@connectrpc/connect";

/** What the service learned about one RPC, for the server's log line and metrics. */
export interface RpcFacts {
  /** "1.1" or "2.0", as the server saw the request. */
  httpVersion?: string;
  model?: string;
  provider?: string;
  connectionReused?: boolean;
  /** Upstream attempts the router made. */
  attempts?: number;
  /** Time spent waiting on upstreams, in ms: the RPC's duration minus this is the gateway's own. */
  upstreamWaitMs?: number;
  /** The caller's metadata, logged and never sent upstream. */
  metadata?: Record<string, string>;
}

/** Set per RPC by the server when the request arrives; filled in by the service. */
export const rpcFactsKey = createContextKey<RpcFacts | undefined>(undefined, { description: "rpc facts" });
