import type { ServerResponse } from "node:http";
import { codeToHttpStatus, codeToString } from "@connectrpc/connect/protocol-connect";
import { GatewayError } from "../errors/gateway-error.js";
import { toOpenAIError } from "../openai-api/openai-error.js";
import { toConnectError } from "../service/connect-errors.js";
import { respondGrpcError } from "./grpc-trailers-only.js";
import type { RequestHandler } from "./listener.js";

/**
 * Refuses an HTTP/2 request whose header list is over `maxBytes` (server.connections.max_header_bytes),
 * in its protocol's way: one error, as a gRPC status for gRPC and gRPC-Web, a Connect error for
 * Connect, an OpenAI error on /v1, 431 for the rest. HTTP/1.1's parser enforces the limit itself
 * (431); Node's HTTP/2 only advertises it (SETTINGS_MAX_HEADER_LIST_SIZE).
 */
export function withHeaderLimit(handler: RequestHandler, maxBytes: number): RequestHandler {
  return (req, res) => {
    if (req.httpVersionMajor === 1 || headerListBytes(req.rawHeaders) <= maxBytes) return handler(req, res);
    const message = `request headers over ${maxBytes} bytes (server.connections.max_header_bytes)`;
    const refusal = new GatewayError("resource_exhausted", message, { reason: "REQUEST_HEADERS_TOO_LARGE" });
    const contentType = req.headers["content-type"] ?? "";
    const path = req.url ?? "/";
    // HTTP/2's compatibility response takes the same calls.
    const response = res as ServerResponse;
    if (contentType.startsWith("application/grpc")) {
      respondGrpcError(res, contentType, toConnectError(refusal));
    } else if (path.startsWith("/v1/")) {
      const reply = toOpenAIError(refusal);
      response.writeHead(reply.status, { ...reply.headers, "content-type": "application/json" });
      response.end(reply.body);
    } else if (/^\/[\w.]+\.\w+\/\w+/.test(path)) {
      // A Connect call (`/package.Service/Method`).
      const error = toConnectError(refusal);
      response.writeHead(codeToHttpStatus(error.code), { "content-type": "application/json" });
      response.end(JSON.stringify({ code: codeToString(error.code), message }));
    } else {
      response.writeHead(431, { "content-type": "text/plain" });
      response.end(`${message}\n`);
    }
  };
}

/** A header list's size as HTTP/2 counts it (RFC 9113, section 6.5.2): each field's name and value plus 32 bytes. */
function headerListBytes(rawHeaders: string[]): number {
  let bytes = 0;
  for (const field of rawHeaders) bytes += field.length + 16;
  return bytes;
}
