// @weaver-gateway/client in a browser, chosen by the package's "browser" export condition: the same
// exports as in Node, over fetch, so a page's bundle holds no node:http2.
import { createClient } from "@connectrpc/connect";
import { GatewayService } from "../../../gen/weaver/gateway/v1/gateway_pb.js";
import type { GatewayClient, GatewayClientOptions } from "./gateway-client.js";
import { createWebTransport } from "./web-transport.js";

export * from "./gateway-client.js";

/** Creates a GatewayService client over the browser's fetch (@connectrpc/connect-web). */
export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  return createClient(GatewayService, createWebTransport(options));
}
