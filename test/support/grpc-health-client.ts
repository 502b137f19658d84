import { fileURLToPath } from "node:url";
import {
  type ClientReadableStream,
  credentials,
  loadPackageDefinition,
  type ServiceClientConstructor,
  type ServiceError,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";

const PROTO_DIR = fileURLToPath(new URL("../../proto/", import.meta.url));

/** A serving status by name, as proto-loader decodes the enum with `enums: String`. */
export type HealthStatus = "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";

/** One Watch call: statuses as they arrive, and how the stream ended. */
export interface HealthWatch {
  /** The next status; rejects when the stream ends before one arrives. */
  next(): Promise<HealthStatus>;
  /** Settles when the stream ends: null when it ended OK, else the error. */
  readonly ended: Promise<ServiceError | null>;
  cancel(): void;
}

/** grpc.health.v1.Health through @grpc/grpc-js and the standard .proto file, with no generated code. */
export interface GrpcHealthClient {
  /** The status of a service ("" for the whole server); rejects with the call's error, e.g. NOT_FOUND. */
  check(service: string): Promise<HealthStatus>;
  watch(service: string): HealthWatch;
  close(): void;
}

interface HealthResponse {
  status: HealthStatus;
}
type CheckCall = (
  request: { service: string },
  callback: (error: ServiceError | null, reply?: HealthResponse) => void,
) => unknown;
type WatchCall = (request: { service: string }) => ClientReadableStream<HealthResponse>;

/** Connects to a cleartext URL such as http://127.0.0.1:8080. */
export function createGrpcHealthClient(url: string): GrpcHealthClient {
  const definition = loadSync("grpc/health/v1/health.proto", {
    includeDirs: [PROTO_DIR],
    enums: String,
    defaults: true,
  });
  const proto = loadPackageDefinition(definition) as unknown as {
    grpc: { health: { v1: { Health: ServiceClientConstructor } } };
  };
  const client = new proto.grpc.health.v1.Health(
    new URL(url).host,
    credentials.createInsecure(),
  ) as unknown as {
    check: CheckCall;
    watch: WatchCall;
    close(): void;
  };
  return {
    check: (service) =>
      new Promise((resolve, reject) => {
        client.check({ service }, (error, reply) =>
          error ? reject(error) : resolve(reply?.status ?? "UNKNOWN"),
        );
      }),
    watch: (service) => {
      const call = client.watch({ service });
      const queue: HealthStatus[] = [];
      const waiting: { resolve(status: HealthStatus): void; reject(error: Error): void }[] = [];
      let end: ServiceError | null | undefined;
      const ended = new Promise<ServiceError | null>((resolve) => {
        const finish = (error: ServiceError | null) => {
          if (end !== undefined) return;
          end = error;
          for (const waiter of waiting.splice(0)) waiter.reject(error ?? new Error("the Watch stream ended"));
          resolve(error);
        };
        call.on("data", (response: HealthResponse) => {
          const waiter = waiting.shift();
          if (waiter) waiter.resolve(response.status);
          else queue.push(response.status);
        });
        // grpc-js emits "error" (for any status but OK) and then "status", whatever the outcome.
        let error: ServiceError | null = null;
        call.on("error", (callError: ServiceError) => {
          error = callError;
        });
        call.on("status", () => finish(error));
      });
      return {
        next: () => {
          const status = queue.shift();
          if (status !== undefined) return Promise.resolve(status);
          if (end !== undefined) return Promise.reject(end ?? new Error("the Watch stream ended"));
          return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
        },
        ended,
        cancel: () => call.cancel(),
      };
    },
    close: () => client.close(),
  };
}
