import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { GatewayService } from "../../gen/weaver/gateway/v1/gateway_pb.js";

/** The wire protocol: gRPC over HTTP/2, or Connect or gRPC-Web over HTTP/1.1. The gateway speaks all three. */
export type GatewayTransport = "grpc" | "connect" | "grpc-web";

export interface GatewayClientOptions {
  /** Where the gateway listens, e.g. http://127.0.0.1:8080 or https://gateway.example.com. */
  baseUrl: string;
  /** Default "grpc". */
  transport?: GatewayTransport;
  /** Sent as `authorization: Bearer <apiKey>` with every call. */
  apiKey?: string;
  /** Deadline of every call, in ms, unless the call sets its own `timeoutMs`. */
  timeoutMs?: number;
}

/** A typed client of GatewayService: generate, generateStream, poolStats and listModels. */
export type GatewayClient = Client<typeof GatewayService>;

/** Creates a GatewayService client over Node's HTTP/2 or HTTP/1.1 (@connectrpc/connect-node). */
export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  return createClient(GatewayService, createTransport(options));
}

function createTransport({
  baseUrl,
  transport = "grpc",
  apiKey,
  timeoutMs,
}: GatewayClientOptions): Transport {
  const common = {
    baseUrl,
    interceptors: apiKey === undefined ? [] : [bearer(apiKey)],
    defaultTimeoutMs: timeoutMs,
  };
  switch (transport) {
    case "grpc":
      return createGrpcTransport(common);
    case "connect":
      return createConnectTransport({ ...common, httpVersion: "1.1" });
    case "grpc-web":
      return createGrpcWebTransport({ ...common, httpVersion: "1.1" });
    default:
      throw new Error(`unknown transport "${transport satisfies never}" (use grpc, connect or grpc-web)`);
  }
}

function bearer(apiKey: string): Interceptor {
  return (next) => (request) => {
    request.header.set("authorization", `Bearer ${apiKey}`);
    return next(request);
  };
}
