// The gateway stall that chaos runs find, without the gateway: an undici Pool (allowH2) whose
// requests to a TLS HTTP/2 upstream are aborted 0-15 ms after they start. Within a few rounds the
// client's main thread spins in node:http2's Http2Session::SendPendingData and its memory grows by
// hundreds of MB a second. (Measured: one request per round never stalls; 16 with no signal, or
// aborted 30-45 ms in, after their answers ended, pass 40 rounds; 4 aborted 0-3 ms in stall.)
// The client runs in a child process watched from here, and is killed
// once it stops reporting or passes MAX_RSS_MB, so the machine is never at risk.
//
//   node --import tsx test/support/chaos/undici-h2-abort-repro.ts [demo] [defer-destroy]   (exit 1: reproduced)
// `demo` serves the gateway's own demo upstream instead of the chaos one: it stalls the same.
// `defer-destroy` is the A/B: undici 8.13.1 aborts an h2 request with stream.close() then a
// synchronous util.destroy(stream) (lib/dispatcher/client-h2.js, from undici #5462/#5559);
// deferring that destroy of an already closed stream by one setImmediate makes 40 rounds pass.
import { spawn } from "node:child_process";
import { channel } from "node:diagnostics_channel";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";
import { DemoUpstream } from "../../../src/demo/demo-upstream.js";
import { startChaosUpstream } from "./chaos-upstream.js";

const ROUNDS = 40;
const CALLERS = 16;
const MAX_RSS_MB = 1_000;
const SILENCE_MS = 3_000;

const DEFER_DESTROY = process.argv.includes("defer-destroy");

if (process.argv[2] === "client") await runClient(JSON.parse(process.argv[3] ?? "{}"));
else process.exit(await watchClient());

/** Rounds of CALLERS streaming requests, the i-th aborted after i ms; one line per round. */
async function runClient({ origin, ca }: { origin: string; ca: string }): Promise<void> {
  if (DEFER_DESTROY) channel("http2.client.stream.created").subscribe(deferDestroyOfClosedStream);
  const pool = new Pool(origin, { allowH2: true, connect: { ca }, connections: 4 });
  for (let round = 0; round < ROUNDS; round++) {
    const calls = Array.from({ length: CALLERS }, async (_, i) => {
      const body = JSON.stringify({
        model: `r${round}-${i}`,
        stream: true,
        messages: [{ role: "user", content: "x" }],
      });
      const headers = { "content-type": "application/json" };
      try {
        const response = await pool.request({
          method: "POST",
          path: "/v1/chat/completions",
          headers,
          body,
          signal: AbortSignal.timeout(i),
        });
        await response.body.text();
      } catch {
        // Aborted, as intended.
      }
    });
    await Promise.all(calls);
    console.log(`round ${round}`);
  }
  await pool.close();
}

/** The A/B: a stream already closed (its RST_STREAM queued) is destroyed on the next turn, not at once. */
function deferDestroyOfClosedStream(message: unknown): void {
  const stream = (message as { stream: { destroy(error?: Error): unknown; closed: boolean } }).stream;
  const destroy = stream.destroy.bind(stream);
  stream.destroy = (error?: Error) => (stream.closed ? setImmediate(() => destroy(error)) : destroy(error));
}

/** Serves the upstream here and runs the client in a child; 1 when the child stalled. */
async function watchClient(): Promise<number> {
  const upstream = process.argv.includes("demo")
    ? await new DemoUpstream().start()
    : await startChaosUpstream({ wire: "openai", transport: "h2" });
  const self = fileURLToPath(import.meta.url);
  const target = JSON.stringify({ origin: upstream.origin, ca: upstream.ca });
  const mode = DEFER_DESTROY ? ["defer-destroy"] : [];
  const child = spawn(process.execPath, ["--import", "tsx", self, "client", target, ...mode], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let lastLine = performance.now();
  let rounds = 0;
  child.stdout?.setEncoding("utf8").on("data", (text: string) => {
    rounds += text.split("\n").filter(Boolean).length;
    lastLine = performance.now();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let verdict = 0;
  for (let done = false; !done; ) {
    done = await Promise.race([
      exited.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 200)),
    ]);
    if (done) break;
    const rssMb =
      Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
    if (rssMb > MAX_RSS_MB || performance.now() - lastLine > SILENCE_MS) {
      console.log(`reproduced: after ${rounds} rounds the client stopped (RSS ${rssMb.toFixed(0)} MB)`);
      child.kill("SIGKILL");
      verdict = 1;
      await exited;
    }
  }
  if (verdict === 0) console.log(`not reproduced: ${rounds} rounds of ${CALLERS} aborted requests completed`);
  await upstream.close();
  return verdict;
}
