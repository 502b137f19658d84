import { createContextValues, type ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { GatewayService } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import type { Logger } from "../log/logger.js";
import type { GatewayMetrics } from "../metrics/gateway-metrics.js";
import { rpcFactsKey } from "../service/rpc-facts.js";
import { reencodeGrpcMessages } from "./grpc-message-encoding.js";
import type { HealthServer } from "./health/health-service.js";
import type { RequestHandler } from "./listener.js";
import { registerReflection } from "./reflection/reflection-service.js";
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
  health: HealthServer;
  maxRequestBytes: number;
}

/**
 * The Connect adapter: gRPC, gRPC-Web and Connect (POST and GET) for GatewayService, beside the
 * standard gRPC health and reflection services.
 */
export function createRpcHandler(options: RpcHandlerOptions): RequestHandler {
  const { service, logger, metrics, health, maxRequestBytes } = options;
  const adapter = connectNodeAdapter({
    routes: (router) => {
      router.service(GatewayService, service);
      health.register(router);
      // Last, so it describes every service registered before it.
      registerReflection(router);
    },
    interceptors: [rpcObserverInterceptor(logger, metrics)],
    readMaxBytes: WIRE_LIMIT_FACTOR * maxRequestBytes,
    contextValues: (req) => createContextValues().set(rpcFactsKey, { httpVersion: req.httpVersion }),
  }) as RequestHandler;
  return (req, res) => {
    reencodeGrpcMessages(req, res);
    adapter(req, res);
  };
}
