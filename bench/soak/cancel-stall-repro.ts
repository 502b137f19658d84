import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ChaosClient } from "../../test/support/chaos/chaos-client.js";
import { NO_FAULT } from "../../test/support/chaos/fault.js";
import { startGatewayUnderSoak } from "./gateway-under-soak.js";
import { SoakUpstreams } from "./soak-upstreams.js";

/**
 * The stall the soak found, alone: ten callers cancel calls (or let short deadlines expire) while
 * an HTTP/2 upstream is still writing the answer slowly. Within seconds the gateway's main thread
 * spins in node:http2's SendPendingData and stops answering anything.
 *
 *   node --import tsx bench/soak/cancel-stall-repro.ts [generate|generateStream] [cancel|deadline]
 *
 * Prints "stalled after N calls" (exit 1) or "no stall in 30 s" (exit 0).
 */

const method = process.argv[2] === "generate" ? "generate" : "generateStream";
const ending = process.argv[3] === "deadline" ? "deadline" : "cancel";
const CALLERS = 10;
const SECONDS = 30;

const dir = mkdtempSync(join(tmpdir(), "weaver-stall-"));
const upstreams = await SoakUpstreams.start();
const gateway = await startGatewayUnderSoak({
  // As in the soak: reused case ids must not cool down their models.
  config: {
    server: { port: 0 },
    router: { allowed_failures: 1_000_000 },
    providers: upstreams.providersConfig(dir),
  },
  upstreamPorts: upstreams.ports,
  logFile: join(dir, "gateway.log"),
  logLevel: "warn",
});
const client = new ChaosClient(gateway.url);
let calls = 0;
let stop = false;
const caller = async () => {
  while (!stop) {
    // A slowly written answer (the soak's), ended by the caller 0-400 ms in.
    const slow = {
      ...NO_FAULT,
      chunkBytes: 16 + Math.floor(Math.random() * 48),
      gapMs: 5 + Math.floor(Math.random() * 20),
    };
    const lease = upstreams.lease("openai", slow);
    const endAfterMs = Math.floor(Math.random() * 400);
    const timing =
      ending === "cancel"
        ? { deadlineMs: 10_000, cancelAfterMs: endAfterMs }
        : { deadlineMs: endAfterMs + 1 };
    await client.call({ method, model: lease.model, ...timing });
    lease.release();
    calls++;
  }
};
const callers = Array.from({ length: CALLERS }, caller);
let stalled = false;
for (let second = 0; second < SECONDS && !stalled; second++) {
  await sleep(1_000);
  await gateway.sample().catch((error: unknown) => {
    stalled = true;
    process.stdout.write(`${method} ${ending}: stalled after ${calls} calls: ${error}\n`);
  });
}
if (!stalled) process.stdout.write(`${method} ${ending}: no stall in ${SECONDS} s (${calls} calls)\n`);
stop = true;
await Promise.all(callers);
client.close();
await gateway.stop();
await upstreams.close();
rmSync(dir, { recursive: true, force: true });
process.exit(stalled ? 1 : 0);
