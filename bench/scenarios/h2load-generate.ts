import { create, toBinary } from "@bufbuild/protobuf";
import { GatewayService, GenerateRequestSchema } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import type { H2loadJob } from "../load-tools/h2load.js";
import { chatBody } from "./peers-setup.js";

/** h2load's unary calls over h2c, by count: `Generate` over gRPC, or the OpenAI API's chat completion. */

export const MAX_TOKENS = 16;
/** A first guess at req/s sizes a side's first run; its last run sizes the next. */
const FIRST_GUESS_RPS = 1500;

/**
 * `count` calls to `base` (a gateway, or the upstream for the OpenAI API), `streams` in flight
 * over `connections`. h2load cannot read trailers: a gRPC response must carry a message.
 */
export function h2loadGenerate(
  base: string,
  grpc: boolean,
  load: { streams: number; connections?: number; count: number; tmpDir: string },
): H2loadJob {
  return {
    url: `${base}${grpc ? `/${GatewayService.typeName}/Generate` : "/v1/chat/completions"}`,
    body: grpc ? grpcFrame() : chatBody("demo", MAX_TOKENS),
    headers: grpc
      ? { "content-type": "application/grpc", te: "trailers" }
      : { "content-type": "application/json" },
    // A message is at least its 5-byte prefix and one field; a failed call has none.
    minDataBytesPerResponse: grpc ? 6 : 0,
    ...load,
  };
}

/** How many calls make a by-count run last about `durationMs`, from each side's last rate. */
export class RunSizes {
  private readonly rates = new Map<string, number>();

  count(key: string, durationMs: number, streams: number): number {
    return Math.max(streams * 4, Math.round(((this.rates.get(key) ?? FIRST_GUESS_RPS) * durationMs) / 1000));
  }

  observe(key: string, rps: number): void {
    if (rps > 0) this.rates.set(key, rps);
  }
}

/** A GenerateRequest as one gRPC message: flag byte, 32-bit length, protobuf. */
function grpcFrame(): Buffer {
  const message = toBinary(
    GenerateRequestSchema,
    create(GenerateRequestSchema, {
      model: "demo",
      messages: [{ role: "user", content: "bench request" }],
      maxTokens: MAX_TOKENS,
    }),
  );
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}
