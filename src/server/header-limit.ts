import type { ServerResponse } from "node:http";
import type { RequestHandler } from "./listener.js";

/**
 * Refuses an HTTP/2 request whose header list is over `maxBytes` (server.connections.max_header_bytes),
 * in its protocol's way: a gRPC status for gRPC and gRPC-Web callers, 431 for the rest. HTTP/1.1's
 * parser enforces the limit itself (431); Node's HTTP/2 only advertises it (SETTINGS_MAX_HEADER_LIST_SIZE).
 */
export function withHeaderLimit(handler: RequestHandler, maxBytes: number): RequestHandler {
  return (req, res) => {
    if (req.httpVersionMajor === 1 || headerListBytes(req.rawHeaders) <= maxBytes) return handler(req, res);
    // HTTP/2's compatibility response takes the same calls.
    const response = res as ServerResponse;
    const message = `request headers over ${maxBytes} bytes (server.connections.max_header_bytes)`;
    if (req.headers["content-type"]?.startsWith("application/grpc")) {
      response.writeHead(200, {
        "content-type": req.headers["content-type"],
        "grpc-status": "8", // RESOURCE_EXHAUSTED
        "grpc-message": message,
      });
    } else {
      response.writeHead(431, { "content-type": "text/plain" });
    }
    response.end(response.statusCode === 431 ? `${message}\n` : undefined);
  };
}

/** A header list's size as HTTP/2 counts it (RFC 9113, section 6.5.2): each field's name and value plus 32 bytes. */
function headerListBytes(rawHeaders: string[]): number {
  let bytes = 0;
  for (const field of rawHeaders) bytes += field.length + 16;
  return bytes;
}
