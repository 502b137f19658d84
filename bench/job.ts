import type { LatencySummary } from "./stats.js";

/** How the load generator reaches its target. */
export type Protocol =
  /** gRPC over cleartext HTTP/2 to the gateway. */
  | "grpc"
  /** Connect with JSON over HTTP/1.1 to the gateway. */
  | "connect"
  /** OpenAI JSON, POST /v1/chat/completions over TLS HTTP/2 with undici, straight to the upstream. */
  | "direct";

/** Protocol, or any OpenAI API (a gateway's or the upstream's) over HTTP/1.1, a connection per call in flight. */
export type LoadProtocol = Protocol | "openai";

/** One load to generate: sent to bench/load-generator.ts as a JSON line. */
export interface LoadJob {
  /** Gateway URL (grpc, connect, openai) or upstream origin (direct, openai). */
  target: string;
  protocol: LoadProtocol;
  rpc: "generate" | "stream";
  /** Closed loop: this many calls in flight at all times. */
  concurrency?: number;
  /** Open loop: calls started per second, whether or not earlier ones finished. */
  rate?: number;
  /** Stop after this many calls... */
  count?: number;
  /** ...or after this long (closed loop only; open loop sends rate * duration calls). */
  durationMs?: number;
  /** Tokens asked for; a stream gets one delta per token. */
  maxTokens: number;
  /** PEM file to trust for `direct` and `openai` over https (the demo upstream's self-signed certificate). */
  caFile?: string;
  /** `openai` only: headers sent with every request, such as a peer gateway's routing headers. */
  headers?: Record<string, string>;
  /** The model asked for. Default "demo". */
  model?: string;
  /** `grpc` only: every call sends the same prompt (default: each its own, so no answer repeats). */
  samePrompt?: boolean;
  /** `direct` only: HTTP/2 streams per connection, as the gateway's pool allows (default 100). */
  streamsPerConnection?: number;
}

export interface LoadResult {
  calls: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  /** Successful calls per second of wall time. */
  rps: number;
  /** Whole-call latency of successful calls, in ms. */
  latency: LatencySummary;
  /** Streams only: time to the first text delta, in ms. */
  firstDelta?: LatencySummary;
  /** Streams only: text deltas received in all. */
  deltas?: number;
}
