import type { ServerResponse } from "node:http";
import type { GatewayMetrics } from "../metrics/gateway-metrics.js";
import type { RequestHandler } from "./listener.js";

export interface HttpRoutesOptions {
  metrics: GatewayMetrics;
  /** True once the pools are warm, false again while draining. */
  isReady: () => boolean;
}

/**
 * Plain HTTP beside the RPCs on the same port, for load balancers and Prometheus:
 * GET /healthz (alive), GET /readyz (ready for traffic), GET /metrics.
 */
export function withHttpRoutes(rpc: RequestHandler, { metrics, isReady }: HttpRoutesOptions): RequestHandler {
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return rpc(req, res);
    const path = req.url?.split("?", 1)[0];
    switch (path) {
      case "/healthz":
        reply(res, 200, "text/plain", "ok\n");
        return;
      case "/readyz": {
        const ready = isReady();
        reply(res, ready ? 200 : 503, "text/plain", ready ? "ready\n" : "not ready\n");
        return;
      }
      case "/metrics":
        metrics.exposition().then(
          ({ contentType, body }) => reply(res, 200, contentType, body),
          () => reply(res, 500, "text/plain", "metrics unavailable\n"),
        );
        return;
      default:
        rpc(req, res);
    }
  };
}

function reply(res: Parameters<RequestHandler>[1], status: number, contentType: string, body: string): void {
  // HTTP/2's compatibility response takes the same calls as HTTP/1.1's.
  const response = res as ServerResponse;
  response.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
  response.end(body);
}
