// @weaver-gateway/client in Node: a typed client of GatewayService over gRPC, Connect or gRPC-Web.
import { createClient } from "@connectrpc/connect";
import { GatewayService } from "../../../gen/weaver/gateway/v1/gateway_pb.js";
import type { GatewayClient, GatewayClientOptions } from "./gateway-client.js";
import { createNodeTransport } from "./node-transport.js";

export * from "./gateway-client.js";

/** Creates a GatewayService client over Node's HTTP/2 or HTTP/1.1 (@connectrpc/connect-node). */
export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  return createClient(GatewayService, createNodeTransport(options));
}
