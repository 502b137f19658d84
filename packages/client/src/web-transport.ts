import type { Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import type { GatewayClientOptions } from "./gateway-client.js";
import { transportOptions, unknownTransport } from "./transport-options.js";

/** The browser's fetch (@connectrpc/connect-web): Connect or gRPC-Web, over whatever HTTP the page gets. */
export function createWebTransport(options: GatewayClientOptions): Transport {
  const common = transportOptions(options);
  const transport = options.transport ?? "connect";
  switch (transport) {
    case "connect":
      return createConnectTransport(common);
    case "grpc-web":
      return createGrpcWebTransport(common);
    case "grpc":
      throw new Error(
        'a browser cannot call over gRPC (fetch hides its trailers): use "connect" or "grpc-web"',
      );
    default:
      throw unknownTransport(transport satisfies never);
  }
}
