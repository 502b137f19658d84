import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";

/**
 * connect-node percent-encodes `grpc-message` with encodeURIComponent, and grpc-js decodes it
 * with decodeURI, so grpc-js callers would read `%3B`, `%3A` and `%2C` for `;`, `:` and `,`.
 * The gRPC spec escapes only bytes outside 0x20-0x7E and `%` itself, which every client decodes.
 */
function encodeGrpcMessage(message: string): string {
  let encoded = "";
  for (const byte of Buffer.from(message, "utf8")) {
    encoded +=
      byte < 0x20 || byte > 0x7e || byte === 0x25
        ? `%${byte.toString(16).toUpperCase().padStart(2, "0")}`
        : String.fromCharCode(byte);
  }
  return encoded;
}

type AnyRequest = IncomingMessage | Http2ServerRequest;
type AnyResponse = ServerResponse | Http2ServerResponse;

/** Re-encodes (and bounds) `grpc-message` in the headers and trailers of a gRPC (not gRPC-Web) response. */
export function reencodeGrpcMessages(req: AnyRequest, res: AnyResponse): void {
  const contentType = req.headers["content-type"];
  if (!contentType?.startsWith("application/grpc") || contentType.startsWith("application/grpc-web")) return;
  const response = res as ServerResponse;
  const writeHead = response.writeHead.bind(response) as (
    status: number,
    headers?: OutgoingHttpHeaders,
  ) => void;
  response.writeHead = ((status: number, headers?: OutgoingHttpHeaders) => {
    fix(headers);
    writeHead(status, headers);
    return response;
  }) as ServerResponse["writeHead"];
  const addTrailers = response.addTrailers.bind(response);
  response.addTrailers = (trailers) => {
    fix(trailers as OutgoingHttpHeaders);
    addTrailers(trailers);
  };
}

/**
 * The longest `grpc-message` sent, in characters before encoding. Messages may quote what the
 * caller sent (a 70,000-digit `grpc-timeout`), and trailers past the client's header-list limit
 * (64 KiB in grpc-js) are dropped whole: the caller would get no status at all.
 */
const MAX_GRPC_MESSAGE_CHARS = 1_024;

/** `grpc-message`'s value for an error message: held to MAX_GRPC_MESSAGE_CHARS, then encoded. */
export function grpcMessageHeader(text: string): string {
  return encodeGrpcMessage(
    text.length > MAX_GRPC_MESSAGE_CHARS ? `${text.slice(0, MAX_GRPC_MESSAGE_CHARS)}…` : text,
  );
}

function fix(headers: OutgoingHttpHeaders | undefined): void {
  const message = headers?.["grpc-message"];
  if (headers && typeof message === "string")
    headers["grpc-message"] = grpcMessageHeader(decodeURIComponent(message));
}
