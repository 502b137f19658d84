import { fileURLToPath } from "node:url";
import {
  type ChannelOptions,
  type Client,
  credentials,
  loadPackageDefinition,
  Metadata,
  type ServiceClientConstructor,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";

const PROTO_DIR = fileURLToPath(new URL("../../proto/", import.meta.url));

/**
 * A message as proto-loader decodes it. The options below make it match the proto JSON mapping
 * (lowerCamel names, uint64 as decimal strings, enums by name, unset fields left out), except
 * that a google.protobuf.Timestamp stays an object of seconds and nanos.
 */
export type GrpcJsMessage = { [field: string]: unknown };

export type UnaryMethod = "generate" | "poolStats" | "listModels" | "getUsage";
export type ServerStreamMethod = "generateStream";

/** GatewayService through @grpc/grpc-js and the .proto files, with no generated code. */
export interface GrpcJsGatewayClient {
  /** `metadata`: request headers, e.g. { authorization: "Bearer <key>" }. */
  unary(
    method: UnaryMethod,
    request: GrpcJsMessage,
    metadata?: Record<string, string>,
  ): Promise<GrpcJsMessage>;
  /** Every message of a server stream, in order; rejects with the stream's error. */
  serverStream(
    method: ServerStreamMethod,
    request: GrpcJsMessage,
    metadata?: Record<string, string>,
  ): Promise<GrpcJsMessage[]>;
  close(): void;
}

type UnaryCall = (
  request: GrpcJsMessage,
  metadata: Metadata,
  callback: (error: Error | null, reply?: GrpcJsMessage) => void,
) => unknown;
type ServerStreamCall = (request: GrpcJsMessage, metadata: Metadata) => AsyncIterable<GrpcJsMessage>;

function toMetadata(headers: Record<string, string> = {}): Metadata {
  const metadata = new Metadata();
  for (const [name, value] of Object.entries(headers)) metadata.set(name, value);
  return metadata;
}

/**
 * Connects to a cleartext gateway URL such as http://127.0.0.1:8080, with grpc-js channel
 * `options` (e.g. `grpc.default_compression_algorithm`).
 */
export function createGrpcJsGatewayClient(url: string, options: ChannelOptions = {}): GrpcJsGatewayClient {
  const definition = loadSync("weaver/gateway/v1/gateway.proto", {
    includeDirs: [PROTO_DIR],
    longs: String,
    enums: String,
  });
  const proto = loadPackageDefinition(definition) as unknown as {
    weaver: { gateway: { v1: { GatewayService: ServiceClientConstructor } } };
  };
  const client: Client = new proto.weaver.gateway.v1.GatewayService(
    new URL(url).host,
    credentials.createInsecure(),
    options,
  );
  // grpc-js adds one method per RPC to the client at run time, so they are looked up by name.
  const method = (name: string): unknown => {
    const call = (client as unknown as Record<string, unknown>)[name];
    if (typeof call !== "function") throw new Error(`GatewayService has no method "${name}"`);
    return call.bind(client);
  };
  return {
    unary: (name, request, metadata) =>
      new Promise((resolve, reject) => {
        (method(name) as UnaryCall)(request, toMetadata(metadata), (error, reply) =>
          error ? reject(error) : resolve(reply ?? {}),
        );
      }),
    serverStream: async (name, request, metadata) => {
      const messages: GrpcJsMessage[] = [];
      for await (const message of (method(name) as ServerStreamCall)(request, toMetadata(metadata)))
        messages.push(message);
      return messages;
    },
    close: () => client.close(),
  };
}
