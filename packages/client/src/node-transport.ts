import type { Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import type { GatewayClientOptions } from "./gateway-client.js";
import { transportOptions, unknownTransport } from "./transport-options.js";

/** Node's HTTP/2 for gRPC, HTTP/1.1 for Connect and gRPC-Web (@connectrpc/connect-node). */
export function createNodeTransport(options: GatewayClientOptions): Transport {
  const common = transportOptions(options);
  const transport = options.transport ?? "grpc";
  switch (transport) {
    case "grpc":
      return createGrpcTransport(common);
    case "connect":
      return createConnectTransport({ ...common, httpVersion: "1.1" });
    case "grpc-web":
      return createGrpcWebTransport({ ...common, httpVersion: "1.1" });
    default:
      throw unknownTransport(transport satisfies never);
  }
}
