import type { IncomingMessage, ServerResponse } from "node:http";
import { httpKeyHeaders } from "../access/caller-keys.js";
import type { GatewayMetrics } from "../metrics/gateway-metrics.js";
import { toOpenAIError } from "../openai-api/openai-error.js";
import type { AdminAccess } from "./admin-access.js";
import type { RequestHandler } from "./listener.js";

export interface HttpRoutesOptions {
  /** The text of GET /metrics: this process's, or every worker's summed. */
  metrics: Pick<GatewayMetrics, "exposition">;
  /** With `server.protect_admin`, /metrics and /v1/models need an admin key. */
  admin: AdminAccess;
  /** The OpenAI-compatible API: POST /v1/chat/completions and GET /v1/models. */
  openai: { chatCompletions: PlainHandler; models: PlainHandler };
  /** Why the gateway should get no traffic now (starting, draining, overloaded), or undefined when ready. */
  notReady: () => string | undefined;
}

// HTTP/2's compatibility request and response take the same calls as HTTP/1.1's.
type PlainHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Plain HTTP beside the RPCs on the same port: GET /healthz (alive), GET /readyz (ready for
 * traffic) and GET /metrics for load balancers and Prometheus, and the OpenAI-compatible API.
 */
export function withHttpRoutes(
  rpc: RequestHandler,
  { metrics, admin, openai, notReady }: HttpRoutesOptions,
): RequestHandler {
  return (req, res) => {
    const path = req.url?.split("?", 1)[0];
    if (req.method === "POST") {
      if (path === "/v1/chat/completions")
        return openai.chatCompletions(req as IncomingMessage, res as ServerResponse);
      return rpc(req, res);
    }
    if (req.method !== "GET" && req.method !== "HEAD") return rpc(req, res);
    if (path === "/v1/models" || path === "/metrics") {
      const refusal = admin.refusal(httpKeyHeaders(req.headers));
      if (refusal !== undefined) {
        const { status, headers, body } = toOpenAIError(refusal);
        (res as ServerResponse).writeHead(status, { ...headers, "content-type": "application/json" });
        res.end(body);
        return;
      }
    }
    switch (path) {
      case "/v1/models":
        openai.models(req as IncomingMessage, res as ServerResponse);
        return;
      case "/healthz":
        reply(res, 200, "text/plain", "ok\n");
        return;
      case "/readyz": {
        const reason = notReady();
        if (reason === undefined) reply(res, 200, "text/plain", "ready\n");
        else reply(res, 503, "text/plain", `not ready: ${reason}\n`);
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
  const response = res as ServerResponse;
  response.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
  response.end(body);
}
