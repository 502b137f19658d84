import { parseConfig } from "../../src/config/load-config.js";
import { type Gateway, startGateway } from "../../src/gateway.js";
import { createLogger } from "../../src/log/logger.js";
import { sumCounters } from "../../src/upstream/origin-counters.js";
import {
  type ChildMessage,
  type ChildSetup,
  type GatewaySample,
  type ParentMessage,
  SETUP_ENV,
} from "./child-protocol.js";
import { openResources, type PortRoles } from "./process-resources.js";

/**
 * The gateway under soak: started from the library in its own process (run with --expose-gc),
 * answering the parent's IPC requests for a sample. It exits when the parent asks or goes away.
 */

const send = (message: ChildMessage) => process.send?.(message);

function sample(gateway: Gateway, roles: PortRoles): GatewaySample {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error("start the soak child with --expose-gc");
  const gcStart = performance.now();
  gc();
  const gcMs = performance.now() - gcStart;
  // Read right after the GC, before this handler allocates much: heapUsed is then the live heap.
  const memory = process.memoryUsage();
  const totals = sumCounters(gateway.pools.snapshot().origins.map((o) => o.counters));
  return {
    rssBytes: memory.rss,
    liveHeapBytes: memory.heapUsed,
    heapTotalBytes: memory.heapTotal,
    externalBytes: memory.external,
    arrayBuffersBytes: memory.arrayBuffers,
    gcMs,
    pool: {
      activeConnections: totals.activeConnections,
      inFlight: totals.inFlight,
      queued: totals.queued,
      requestsTotal: totals.requestsTotal,
    },
    ...openResources(roles),
  };
}

async function main(): Promise<void> {
  if (process.send === undefined)
    throw new Error("the soak child needs an IPC channel (spawn it with 'ipc')");
  const setup = JSON.parse(process.env[SETUP_ENV] ?? "null") as ChildSetup | null;
  if (setup === null) throw new Error(`${SETUP_ENV} is not set`);
  // Without the parent nobody stops it: leave with it.
  process.once("disconnect", () => process.exit(0));
  const gateway = await startGateway(parseConfig(setup.config, "soak"), { logger: createLogger() });
  const roles: PortRoles = { listenPort: gateway.address.port, upstreamPorts: new Set(setup.upstreamPorts) };
  process.on("message", (message: ParentMessage) => {
    if (message.type === "sample") send({ type: "sample", id: message.id, sample: sample(gateway, roles) });
    else void gateway.close().finally(() => process.exit(0));
  });
  send({ type: "ready", url: gateway.url });
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  if (process.send) process.send({ type: "failed", message } satisfies ChildMessage, () => process.exit(1));
  else throw error;
});
