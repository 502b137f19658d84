import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import type { ConnectError } from "@connectrpc/connect";
import { grpcMessageHeader } from "./grpc-message-encoding.js";

/**
 * A gRPC (or gRPC-Web) answer of status alone, for an error the gateway gives before Connect sees
 * the request: over HTTP/2 one HEADERS frame that ends the stream (gRPC clients read a status in
 * headers only then), over HTTP/1.1 (gRPC-Web) headers and an empty body. The error's metadata
 * (retry-after, the reason) and headers already set on the response (CORS) go with it.
 */
export function respondGrpcError(
  res: ServerResponse | Http2ServerResponse,
  contentType: string,
  error: ConnectError,
): void {
  const headers = { "content-type": contentType, ...grpcStatusHeaders(error) };
  if ("stream" in res) {
    res.stream.respond({ ":status": 200, ...res.getHeaders(), ...headers }, { endStream: true });
    return;
  }
  res.writeHead(200, headers);
  res.end();
}

/** An error as gRPC's status fields (in trailers, or the headers of a trailers-only answer), with its metadata. */
export function grpcStatusHeaders(error: ConnectError): Record<string, string> {
  const headers: Record<string, string> = {
    "grpc-status": String(error.code),
    "grpc-message": grpcMessageHeader(error.rawMessage),
  };
  error.metadata.forEach((value, key) => {
    headers[key] = value;
  });
  return headers;
}
