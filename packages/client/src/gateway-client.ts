// What both entries (Node's and the browser's) export besides createGatewayClient: the options, the
// generated service and messages, and Connect's error types to tell failures apart.
import type { Client } from "@connectrpc/connect";
import type { GatewayService } from "../../../gen/weaver/gateway/v1/gateway_pb.js";

export { Code, ConnectError } from "@connectrpc/connect";
export * from "../../../gen/weaver/gateway/v1/gateway_pb.js";

/**
 * The wire protocol: gRPC over HTTP/2, or Connect or gRPC-Web over HTTP/1.1. The gateway speaks all
 * three; a browser speaks Connect and gRPC-Web (a page cannot read gRPC's HTTP/2 trailers).
 */
export type GatewayTransport = "grpc" | "connect" | "grpc-web";

export interface GatewayClientOptions {
  /** Where the gateway listens, e.g. http://127.0.0.1:8080 or https://gateway.example.com. */
  baseUrl: string;
  /** Default "grpc" in Node; "connect" in a browser, which cannot call over gRPC. */
  transport?: GatewayTransport;
  /** Sent as `authorization: Bearer <apiKey>` with every call. */
  apiKey?: string;
  /** Deadline of every call, in ms, unless the call sets its own `timeoutMs`. Default none. */
  timeoutMs?: number;
}

/** A typed client of GatewayService: generate, generateStream, poolStats and listModels. */
export type GatewayClient = Client<typeof GatewayService>;
