// weaver-gateway/client: a typed client of GatewayService, its generated service and messages, and
// Connect's error types to tell failures apart.
export { Code, ConnectError } from "@connectrpc/connect";
export * from "../../gen/weaver/gateway/v1/gateway_pb.js";
export {
  createGatewayClient,
  type GatewayClient,
  type GatewayClientOptions,
  type GatewayTransport,
} from "./create-gateway-client.js";
