import { type ClientHttp2Session, connect, constants } from "node:http2";
import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";

/**
 * A lean gRPC client over one cleartext HTTP/2 session: length-prefixed protobuf frames on
 * node:http2, nothing more. A load generator built on a full client (connect-node, grpc-js)
 * spends more CPU per call than the gateway it measures and saturates first on a 2-core machine;
 * this one leaves the gateway as the bottleneck. It still checks what a real client would:
 * the HTTP status, every frame, and `grpc-status` in the trailers.
 */
export class GrpcH2Client {
  private readonly session: ClientHttp2Session;

  constructor(baseUrl: string) {
    this.session = connect(baseUrl);
    // A failed session fails its streams; the event itself must not crash the generator.
    this.session.on("error", () => {});
  }

  /** One call; `onMessage` sees each response message as it arrives (one for a unary RPC). */
  call<O extends DescMessage>(
    path: string,
    request: Uint8Array,
    output: O,
    onMessage: (message: MessageShape<O>) => void,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const stream = this.session.request({
        [constants.HTTP2_HEADER_METHOD]: "POST",
        [constants.HTTP2_HEADER_PATH]: path,
        [constants.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc+proto",
        te: "trailers",
      });
      let status: string | undefined;
      let message: string | undefined;
      let statusHeaders: Record<string, unknown> = {};
      const takeStatus = (headers: Record<string, unknown>) => {
        if (headers["grpc-status"] !== undefined) {
          status = String(headers["grpc-status"]);
          message = headers["grpc-message"] === undefined ? undefined : String(headers["grpc-message"]);
          statusHeaders = headers;
        }
      };
      stream.on("response", (headers) => {
        const httpStatus = Number(headers[constants.HTTP2_HEADER_STATUS]);
        if (httpStatus !== 200) {
          stream.close(constants.NGHTTP2_CANCEL);
          reject(new Error(`HTTP ${httpStatus}`));
        }
        takeStatus(headers); // a trailers-only response carries its status here
      });
      stream.on("trailers", takeStatus);
      const frames = new FrameReader();
      stream.on("data", (chunk: Buffer) => {
        try {
          for (const frame of frames.push(chunk)) onMessage(fromBinary(output, frame));
        } catch (error) {
          stream.destroy(error instanceof Error ? error : new Error(String(error)));
        }
      });
      stream.on("error", reject);
      stream.on("close", () => {
        if (status === "0" && frames.empty) resolve();
        else if (status === undefined)
          reject(new Error(`stream closed without grpc-status (${stream.rstCode})`));
        else if (status !== "0")
          reject(new GrpcStatusError(Number(status), percentDecoded(message ?? ""), statusHeaders));
        else reject(new Error("stream ended inside a message"));
      });
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(request.length, 1);
      stream.end(Buffer.concat([prefix, request]));
    });
  }

  close(): void {
    this.session.destroy();
  }
}

/** A call that ended with a gRPC status other than OK, with the headers or trailers that carried it. */
export class GrpcStatusError extends Error {
  constructor(
    readonly status: number,
    readonly grpcMessage: string,
    readonly metadata: Record<string, unknown>,
  ) {
    super(`grpc-status ${status}: ${grpcMessage}`);
  }
}

/** grpc-message is percent-encoded; a malformed one is shown as it came. */
function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Splits a byte stream into gRPC messages (flag byte, 32-bit length, payload). */
class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  get empty(): boolean {
    return this.pending.length === 0;
  }

  push(chunk: Buffer): Uint8Array[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const messages: Uint8Array[] = [];
    while (this.pending.length >= 5) {
      if (this.pending[0] !== 0) throw new Error("compressed message without grpc-encoding");
      const end = 5 + this.pending.readUInt32BE(1);
      if (this.pending.length < end) break;
      messages.push(this.pending.subarray(5, end));
      this.pending = this.pending.subarray(end);
    }
    return messages;
  }
}
