import { createContextValues, type ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { GatewayService } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import type { Logger } from "../log/logger.js";
import type { GatewayMetrics } from "../metrics/gateway-metrics.js";
import { rpcFactsKey } from "../service/rpc-facts.js";
import { reencodeGrpcMessages } from "./grpc-message-encoding.js";
import type { RequestHandler } from "./listener.js";
import { rpcObserverInterceptor } from "./rpc-observer-interceptor.js";

/**
 * Headroom of the wire limit over `max_request_bytes`: the service checks the text itself and
 * names the field; this only stops a body too large to be worth parsing.
 */
const WIRE_LIMIT_FACTOR = 4;

export interface RpcHandlerOptions {
  service: ServiceImpl<typeof GatewayService>;
  logger: Logger;
  metrics: GatewayMetrics;
  maxRequestBytes: number;
}

/** The Connect adapter: gRPC, gRPC-Web and Connect (POST and GET) for GatewayService. */
export function createRpcHandler({
  service,
  logger,
  metrics,
  maxRequestBytes,
}: RpcHandlerOptions): RequestHandler {
  const adapter = connectNodeAdapter({
    routes: (router) => router.service(GatewayService, service),
    interceptors: [rpcObserverInterceptor(logger, metrics)],
    readMaxBytes: WIRE_LIMIT_FACTOR * maxRequestBytes,
    contextValues: (req) => createContextValues().set(rpcFactsKey, { httpVersion: req.httpVersion }),
  }) as RequestHandler;
  return (req, res) => {
    reencodeGrpcMessages(req, res);
    adapter(req, res);
  };
}
