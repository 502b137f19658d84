import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type ServiceImpl } from "@connectrpc/connect";
import {
  Health,
  type HealthCheckResponse,
  HealthCheckResponseSchema,
  HealthListResponseSchema,
} from "../../../gen/grpc/health/v1/health_pb.js";
import { ServingStatus, ServingStatusRegistry } from "./serving-status.js";

/** The most services List may return; more is RESOURCE_EXHAUSTED, as the protocol says. */
export const MAX_LISTED_SERVICES = 100;

export interface HealthOptions {
  /** Statuses to start with; by default the whole server ("") is NOT_SERVING. */
  initial?: Iterable<readonly [string, ServingStatus]>;
}

export interface HealthServer {
  /** Where the statuses are set: `registry.setStatus("", ServingStatus.SERVING)`. */
  readonly registry: ServingStatusRegistry;
  /** Registers grpc.health.v1.Health on a router. */
  register(router: ConnectRouter): void;
  /** Everything NOT_SERVING, and every Watch stream ended: call it before closing the listener. */
  shutdown(): void;
}

/** The gRPC health service (grpc.health.v1.Health: Check, List, Watch) over a status registry. */
export function createHealth(options: HealthOptions = {}): HealthServer {
  const registry = new ServingStatusRegistry(options.initial);
  const impl = createHealthImpl(registry);
  return {
    registry,
    register: (router) => {
      router.service(Health, impl);
    },
    shutdown: () => registry.shutdown(),
  };
}

export function createHealthImpl(registry: ServingStatusRegistry): ServiceImpl<typeof Health> {
  const response = (status: ServingStatus): HealthCheckResponse =>
    create(HealthCheckResponseSchema, { status });
  return {
    check({ service }) {
      const status = registry.getStatus(service);
      if (status === undefined) throw new ConnectError(`unknown service "${service}"`, Code.NotFound);
      return response(status);
    },
    list() {
      const statuses = registry.list();
      if (statuses.size > MAX_LISTED_SERVICES) {
        throw new ConnectError(
          `${statuses.size} services exceed the limit of ${MAX_LISTED_SERVICES}`,
          Code.ResourceExhausted,
        );
      }
      return create(HealthListResponseSchema, {
        statuses: Object.fromEntries([...statuses].map(([service, status]) => [service, { status }])),
      });
    },
    async *watch({ service }, context) {
      for await (const status of registry.watch(service, context.signal)) yield response(status);
    },
  };
}

export { ServingStatus, ServingStatusRegistry };
