import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";

/**
 * A gRPC answer of status alone: over HTTP/2 one HEADERS frame that ends the stream (gRPC clients
 * read a status in headers only then), over HTTP/1.1 (gRPC-Web) headers and an empty body.
 * Headers already set on the response (CORS) go with it.
 */
export function respondTrailersOnly(
  res: ServerResponse | Http2ServerResponse,
  headers: Record<string, string>,
): void {
  if ("stream" in res) {
    res.stream.respond({ ":status": 200, ...res.getHeaders(), ...headers }, { endStream: true });
    return;
  }
  res.writeHead(200, headers);
  res.end();
}
