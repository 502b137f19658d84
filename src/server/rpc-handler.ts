import type { IncomingMessage, ServerResponse } from "node:http";
import { createContextValues, type ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { GatewayService } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import type { CallObserver } from "../service/call-observer.js";
import { SELF_OBSERVED_METHODS } from "../service/gateway-service.js";
import type { GenerationCalls } from "../service/generation-calls.js";
import { httpVersionKey } from "../service/rpc-arrival.js";
import type { AdminAccess } from "./admin-access.js";
import { closeAfterEarlyReply } from "./close-after-reply.js";
import { holdDeadlineHeaders } from "./deadline-headers.js";
import { withGrpcGenerations } from "./grpc-generation.js";
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
  /** The generation calls the service makes, which plain gRPC reaches without the adapter. */
  calls: GenerationCalls;
  /** With `server.protect_admin`, every RPC but the callers' own needs an admin key. */
  admin: AdminAccess;
  observer: CallObserver;
  health: HealthServer;
  maxRequestBytes: number;
}

/** The RPCs callers make with their own keys, which decide for themselves who may call them. */
const CALLER_METHODS = new Set(["Generate", "GenerateStream", "GetUsage"]);
const isCallerMethod = (typeName: string, method: string) =>
  typeName === GatewayService.typeName && CALLER_METHODS.has(method);

/**
 * The RPCs: gRPC, gRPC-Web and Connect (POST and GET) for GatewayService, beside the standard gRPC
 * health and reflection services, through the Connect adapter; plain gRPC generation calls, the
 * hot path, straight on the HTTP/2 stream (grpc-generation.ts).
 */
export function createRpcHandler(options: RpcHandlerOptions): RequestHandler {
  const { service, calls, admin, observer, health, maxRequestBytes } = options;
  const observedByService = (typeName: string, method: string) =>
    typeName === GatewayService.typeName && SELF_OBSERVED_METHODS.has(method);
  const adapter = connectNodeAdapter({
    routes: (router) => {
      router.service(GatewayService, service);
      health.register(router);
      // Last, so it describes every service registered before it.
      registerReflection(router);
    },
    // The observer first: a refusal for want of an admin key is logged and counted like any call.
    interceptors: [rpcObserverInterceptor(observer, observedByService), admin.interceptor(isCallerMethod)],
    readMaxBytes: WIRE_LIMIT_FACTOR * maxRequestBytes,
    contextValues: (req) => createContextValues().set(httpVersionKey, req.httpVersion),
  }) as RequestHandler;
  const connect: RequestHandler = (req, res) => {
    holdDeadlineHeaders(req);
    reencodeGrpcMessages(req, res);
    closeAfterEarlyReply(req as IncomingMessage, res as ServerResponse);
    adapter(req, res);
  };
  return withGrpcGenerations(connect, {
    calls,
    observer,
    maxMessageBytes: WIRE_LIMIT_FACTOR * maxRequestBytes,
  });
}
