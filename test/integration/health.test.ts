import { Code, ConnectError, createClient, type ServiceImpl } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { status } from "@grpc/grpc-js";
import { afterEach, describe, expect, test } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import type { GatewayService } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { ServingStatus, ServingStatusRegistry } from "../../src/server/health/health-service.js";
import { createGrpcHealthClient, type GrpcHealthClient } from "../support/grpc-health-client.js";
import { type StubRpcServer, startStubRpcServer } from "../support/stub-rpc-server.js";

const GATEWAY = "weaver.gateway.v1.GatewayService";

/** Health has nothing to ask of GatewayService; it is there so the router looks like the gateway's. */
const STUB_GATEWAY: Partial<ServiceImpl<typeof GatewayService>> = {
  listModels: () => ({ models: [] }),
};

function startServer(): Promise<StubRpcServer> {
  return startStubRpcServer(STUB_GATEWAY);
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(): Promise<{ server: StubRpcServer; client: GrpcHealthClient }> {
  const server = await startServer();
  cleanups.push(() => server.close());
  const client = createGrpcHealthClient(server.url);
  cleanups.push(() => client.close());
  return { server, client };
}

describe("grpc.health.v1.Health through @grpc/grpc-js", () => {
  test('Check "" is NOT_SERVING until the gateway says SERVING', async () => {
    const { server, client } = await setup();
    expect(await client.check("")).toBe("NOT_SERVING");
    server.health.registry.setStatus("", ServingStatus.SERVING);
    expect(await client.check("")).toBe("SERVING");
  });

  test("Check of a per-service status", async () => {
    const { server, client } = await setup();
    server.health.registry.setStatus(GATEWAY, ServingStatus.SERVING);
    expect(await client.check(GATEWAY)).toBe("SERVING");
    server.health.registry.clearStatus(GATEWAY);
    await expect(client.check(GATEWAY)).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  test("Check of an unknown service is NOT_FOUND", async () => {
    const { client } = await setup();
    await expect(client.check("no.such.Service")).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  test("Watch gets SERVING, NOT_SERVING on drain, then the stream ends on shutdown()", async () => {
    const { server, client } = await setup();
    server.health.registry.setStatus("", ServingStatus.SERVING);
    const watch = client.watch("");
    expect(await watch.next()).toBe("SERVING");
    // Setting the same status again is no change, so no message.
    server.health.registry.setStatus("", ServingStatus.SERVING);
    server.health.registry.setStatus("", ServingStatus.NOT_SERVING);
    expect(await watch.next()).toBe("NOT_SERVING");
    server.health.shutdown();
    expect(await watch.ended).toBeNull();
    await expect(watch.next()).rejects.toThrow();
    // After shutdown the registry stays NOT_SERVING whatever it is told.
    server.health.registry.setStatus("", ServingStatus.SERVING);
    expect(await client.check("")).toBe("NOT_SERVING");
  });

  test("shutdown() tells a SERVING watcher NOT_SERVING before ending its stream", async () => {
    const { server, client } = await setup();
    server.health.registry.setStatus(GATEWAY, ServingStatus.SERVING);
    const watch = client.watch(GATEWAY);
    expect(await watch.next()).toBe("SERVING");
    server.health.shutdown();
    expect(await watch.next()).toBe("NOT_SERVING");
    expect(await watch.ended).toBeNull();
  });

  test("Watch of an unknown service says SERVICE_UNKNOWN and stays open until it is known", async () => {
    const { server, client } = await setup();
    const watch = client.watch("later.Service");
    expect(await watch.next()).toBe("SERVICE_UNKNOWN");
    server.health.registry.setStatus("later.Service", ServingStatus.SERVING);
    expect(await watch.next()).toBe("SERVING");
    watch.cancel();
    expect(await watch.ended).toMatchObject({ code: status.CANCELLED });
  });

  test("a Watch left open does not hold up closing once health is shut down", async () => {
    const { server, client } = await setup();
    const watch = client.watch("");
    expect(await watch.next()).toBe("NOT_SERVING");
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await watch.ended).toBeNull();
  });
});

describe("grpc.health.v1.Health through connect-node", () => {
  test("List reports every status; Check over the Connect protocol", async () => {
    const { server } = await setup();
    server.health.registry.setStatus("", ServingStatus.SERVING);
    server.health.registry.setStatus(GATEWAY, ServingStatus.NOT_SERVING);
    const client = createClient(Health, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
    const list = await client.list({});
    expect(
      Object.fromEntries(Object.entries(list.statuses).map(([name, entry]) => [name, entry.status])),
    ).toEqual({ "": ServingStatus.SERVING, [GATEWAY]: ServingStatus.NOT_SERVING });
    expect((await client.check({ service: "" })).status).toBe(ServingStatus.SERVING);
    const error = await client.check({ service: "nope" }).catch((e: unknown) => ConnectError.from(e));
    expect(error).toMatchObject({ code: Code.NotFound });
  });
});

describe("ServingStatusRegistry.watch", () => {
  test("collapses changes made while the watcher is busy to the latest, and stops on abort", async () => {
    const registry = new ServingStatusRegistry([["svc", ServingStatus.SERVING]]);
    const abort = new AbortController();
    const watch = registry.watch("svc", abort.signal);
    expect((await watch.next()).value).toBe(ServingStatus.SERVING);
    registry.setStatus("svc", ServingStatus.NOT_SERVING);
    registry.setStatus("svc", ServingStatus.UNKNOWN);
    registry.setStatus("svc", ServingStatus.NOT_SERVING);
    expect((await watch.next()).value).toBe(ServingStatus.NOT_SERVING);
    const pending = watch.next();
    abort.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
  });

  test("a watch that returns unregisters, so later changes reach nobody", async () => {
    const registry = new ServingStatusRegistry();
    const watch = registry.watch("");
    expect((await watch.next()).value).toBe(ServingStatus.NOT_SERVING);
    await watch.return();
    registry.setStatus("", ServingStatus.SERVING);
    expect(await watch.next()).toEqual({ done: true, value: undefined });
    expect((registry as unknown as { watchers: Map<string, unknown> }).watchers.size).toBe(0);
  });
});
