import { GatewayService } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import type { CallObserver } from "../service/call-observer.js";
import { toConnectError } from "../service/connect-errors.js";
import type { LoadShedder } from "../service/load-shedder.js";
import { respondGrpcError } from "./grpc-trailers-only.js";
import type { RequestHandler } from "./listener.js";

/** The generation methods' paths, by method name: the calls the shedder may refuse. */
const GENERATION_PATHS = new Map(
  ["Generate", "GenerateStream"].map((method) => [`/${GatewayService.typeName}/${method}`, method]),
);

/**
 * Refuses a gRPC or gRPC-Web generation call while the gateway is full, before the Connect adapter
 * parses it: a trailers-only RESOURCE_EXHAUSTED with retry-after, reported like any call. A refusal
 * that cost as much as a call would spend the CPU the shedding is there to save. Connect-protocol
 * calls go on to the adapter, which refuses them the same way in GenerationCalls.
 */
export function withEarlyRefusal(
  handler: RequestHandler,
  { shedder, observer }: { shedder: LoadShedder; observer: CallObserver },
): RequestHandler {
  return (req, res) => {
    const contentType = req.headers["content-type"];
    const method = req.method === "POST" ? GENERATION_PATHS.get(req.url ?? "") : undefined;
    const refusal = method && contentType?.startsWith("application/grpc") ? shedder.refusal() : undefined;
    if (refusal === undefined || contentType === undefined || method === undefined) return handler(req, res);
    const protocol = contentType.startsWith("application/grpc-web") ? "grpc-web" : "grpc";
    observer.begin({ method, protocol, http: req.httpVersion })(refusal);
    // The request's bytes are not wanted: read and dropped, so the stream or connection stays clean.
    req.resume();
    respondGrpcError(res, contentType, toConnectError(refusal));
  };
}
