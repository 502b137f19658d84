import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { create, type DescMessage, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import { parseTimeout } from "@connectrpc/connect/protocol-grpc";
import {
  GatewayService,
  type GenerateRequest,
  GenerateRequestSchema,
  GenerateResponseSchema,
  GenerateStreamRequestSchema,
  GenerateStreamResponseSchema,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { httpKeyHeaders, presentedKey } from "../access/caller-keys.js";
import { GatewayError } from "../errors/gateway-error.js";
import type { CallArrival, CallObserver } from "../service/call-observer.js";
import { toConnectError } from "../service/connect-errors.js";
import type { GenerationCalls } from "../service/generation-calls.js";
import { generateReply, rpcGenerationCall, streamReplies } from "../service/generation-replies.js";
import { grpcStatusHeaders, respondGrpcError } from "./grpc-trailers-only.js";
import type { RequestHandler } from "./listener.js";

/**
 * Generate and GenerateStream over plain gRPC (HTTP/2, protobuf, no compression) served straight on
 * the HTTP/2 stream: read one length-prefixed message, answer with length-prefixed messages and a
 * `grpc-status` trailer. connect-es's handler runs every call through a pipeline of a dozen async
 * generators, which cost three times the whole OpenAI-API call (bench/README.md); the contract's own
 * path should cost no more than its JSON side door. Every other call (Connect, gRPC-Web, JSON or
 * compressed gRPC, the other methods) goes on to `next`, the Connect adapter.
 */
export function withGrpcGenerations(
  next: RequestHandler,
  deps: { calls: GenerationCalls; observer: CallObserver; maxMessageBytes: number },
): RequestHandler {
  return (req, res) => {
    const method =
      req.method === "POST" && req.httpVersionMajor === 2 ? METHODS.get(req.url ?? "") : undefined;
    if (method === undefined || !isPlainGrpc(req.headers)) return next(req, res);
    serveGeneration(method, req as Http2ServerRequest, res as Http2ServerResponse, deps);
  };
}

const METHODS = new Map(
  (["Generate", "GenerateStream"] as const).map((method) => [
    `/${GatewayService.typeName}/${method}`,
    method,
  ]),
);
type Method = typeof METHODS extends Map<string, infer M> ? M : never;

/** Binary gRPC with its messages sent as they are: what grpc-js and grpc-go send unless told to compress. */
function isPlainGrpc(headers: Http2ServerRequest["headers"]): boolean {
  const contentType = headers["content-type"];
  const encoding = headers["grpc-encoding"];
  return (
    (contentType === "application/grpc" || contentType === "application/grpc+proto") &&
    (encoding === undefined || encoding === "identity")
  );
}

const CONTENT_TYPE = "application/grpc+proto";
const OK_TRAILERS = { "grpc-status": "0" } as const;

function serveGeneration(
  method: Method,
  req: Http2ServerRequest,
  res: Http2ServerResponse,
  {
    calls,
    observer,
    maxMessageBytes,
  }: { calls: GenerationCalls; observer: CallObserver; maxMessageBytes: number },
): void {
  // The caller resetting the stream cancels the call, and its upstream request with it.
  const abort = new AbortController();
  res.once("close", () => {
    if (!res.writableEnded) abort.abort(new GatewayError("cancelled", "the caller went away"));
  });
  const arrival: CallArrival = { method, protocol: "grpc", http: req.httpVersion };
  let called = false;
  const run = async () => {
    const { timeoutMs, error } = parseTimeout(
      headerValue(req.headers["grpc-timeout"]),
      Number.POSITIVE_INFINITY,
    );
    if (error) throw error;
    const bytes = await readMessage(req, maxMessageBytes);
    const schema = method === "Generate" ? GenerateRequestSchema : GenerateStreamRequestSchema;
    const request = parseMessage(schema, bytes) as GenerateRequest;
    called = true;
    const call = rpcGenerationCall(arrival, request, abort.signal, timeoutMs, {
      presentedKey: presentedKey(httpKeyHeaders(req.headers)),
      replyHeader: (name, value) => res.setHeader(name, value),
      cacheControl: headerValue(req.headers["cache-control"]) ?? undefined,
    });
    if (method === "Generate") {
      const reply = encode(GenerateResponseSchema, await generateReply(calls, call));
      res.writeHead(200, { "content-type": CONTENT_TYPE });
      res.addTrailers(OK_TRAILERS);
      res.end(reply);
      return;
    }
    for await (const reply of streamReplies(calls, call)) {
      // The caller went away: leaving the loop ends the call (GenerationCalls counts it cancelled).
      if (res.stream.destroyed) return;
      if (!res.headersSent) res.writeHead(200, { "content-type": CONTENT_TYPE });
      await written(res, encode(GenerateStreamResponseSchema, reply));
    }
    if (!res.headersSent) res.writeHead(200, { "content-type": CONTENT_TYPE });
    res.addTrailers(OK_TRAILERS);
    res.end();
  };
  run().catch((thrown: unknown) => {
    const error = toConnectError(thrown, abort.signal);
    // A call reports itself (GenerationCalls); a request refused before it became one, here.
    if (!called) observer.begin(arrival)(error);
    if (res.writableEnded || res.stream.destroyed) return;
    if (!res.headersSent) {
      // The request's remaining bytes are not wanted: read and dropped, so the stream ends cleanly.
      req.resume();
      respondGrpcError(res, CONTENT_TYPE, error);
      return;
    }
    res.addTrailers(grpcStatusHeaders(error));
    res.end();
  });
}

/** The one message of a unary or server-streaming call, refused from its frame header once it is over `limit`. */
function readMessage(req: Http2ServerRequest, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let checked = false;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (checked || size < 5) return;
      checked = true;
      const length = (chunks.length === 1 ? chunk : Buffer.concat(chunks)).readUInt32BE(1);
      if (length > limit) {
        req.off("data", onData);
        chunks.length = 0;
        reject(
          new ConnectError(
            `message size ${length} is larger than configured readMaxBytes ${limit}`,
            Code.ResourceExhausted,
          ),
        );
      }
    };
    req.on("data", onData);
    req.on("error", reject);
    req.on("end", () => {
      try {
        resolve(unframe(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)));
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** The message inside the request's only frame; the errors are connect-es's, so both paths answer alike. */
function unframe(body: Buffer): Buffer {
  if (body.length === 0) throw new ConnectError("protocol error: missing input message", Code.Unimplemented);
  if (body.length < 5) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  const flags = body[0] ?? 0;
  const length = body.readUInt32BE(1);
  if (body.length < 5 + length) {
    const received = body.length - 5;
    throw new ConnectError(
      `protocol error: promised ${length} bytes, received ${received}`,
      Code.InvalidArgument,
    );
  }
  if (body.length > 5 + length)
    throw new ConnectError("protocol error: received extra input message", Code.Unimplemented);
  if (flags !== 0) {
    // A compressed message in a call that named no grpc-encoding cannot be read (gRPC's spec: INTERNAL).
    throw new ConnectError(`protocol error: unexpected message flags ${flags}`, Code.Internal);
  }
  return body.subarray(5);
}

function parseMessage<D extends DescMessage>(schema: D, bytes: Buffer) {
  try {
    return fromBinary(schema, bytes);
  } catch (error) {
    throw new ConnectError(
      `parse binary: ${error instanceof Error ? error.message : String(error)}`,
      Code.Internal,
    );
  }
}

function encode<D extends DescMessage>(schema: D, init: MessageInitShape<D>): Uint8Array {
  return encodeEnvelope(0, toBinary(schema, create(schema, init)));
}

/** Resolves once `frame` is taken: at once, or when a slow caller's window drains (or the stream closes). */
function written(res: Http2ServerResponse, frame: Uint8Array): Promise<void> | undefined {
  if (res.write(frame)) return undefined;
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/** A header sent once, as Headers.get would read it: repeated values joined by ", ". */
function headerValue(value: string | string[] | undefined): string | null {
  return Array.isArray(value) ? value.join(", ") : (value ?? null);
}
