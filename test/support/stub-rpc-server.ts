import type { ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { GatewayService } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { createHealth, type HealthServer } from "../../src/server/health/health-service.js";
import { Listener, type RequestHandler } from "../../src/server/listener.js";
import { registerReflection } from "../../src/server/reflection/reflection-service.js";

export interface StubRpcServer {
  /** e.g. http://127.0.0.1:40111 */
  url: string;
  /** Where the test sets statuses, as the gateway does when its pools are warm or it drains. */
  health: HealthServer;
  close(): Promise<void>;
}

/**
 * The gateway's routes as `createRpcHandler` wires them (GatewayService, health, reflection on one
 * router, behind the real Listener), with a stub GatewayService the test controls, so health and
 * reflection can be driven through states a real gateway passes only briefly.
 */
export async function startStubRpcServer(
  gateway: Partial<ServiceImpl<typeof GatewayService>>,
): Promise<StubRpcServer> {
  const health = createHealth();
  const handler = connectNodeAdapter({
    routes: (router) => {
      router.service(GatewayService, gateway);
      health.register(router);
      registerReflection(router);
    },
  }) as RequestHandler;
  const listener = new Listener({ host: "127.0.0.1", port: 0, handler });
  const address = await listener.listen();
  return {
    url: `http://127.0.0.1:${address.port}`,
    health,
    close: async () => {
      health.shutdown();
      await listener.close(2_000);
    },
  };
}
