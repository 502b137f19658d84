// The stall the chaos and soak runs found, without the gateway: an undici Pool (allowH2) whose
// requests to a TLS HTTP/2 upstream are aborted 0-15 ms after they start. Within a few rounds the
// client's main thread spins in node:http2's Http2Session::SendPendingData and its memory grows by
// hundreds of MB a second. undici 8.13 aborts with stream.close(), an RST_STREAM of NO_ERROR, and
// destroys the stream at once (lib/dispatcher/client-h2.js); Node 24 holds a NO_ERROR reset back
// until the stream's data is flushed, which a destroyed stream never is. (Measured: one request per
// round never stalls; 16 with no signal, or aborted 30 ms or more in, pass 40 rounds.)
// The client runs in a child process watched from here, and is killed once it stops reporting or
// passes MAX_RSS_MB, so the machine is never at risk.
//
//   node --import tsx bench/repro/undici-h2-abort-spin.ts            exit 1: reproduced
//   node --import tsx bench/repro/undici-h2-abort-spin.ts cancel     with the gateway's fix
//     (src/upstream/http2-cancel-on-abort.ts: the reset says CANCEL, which Node sends at once)
//   node --import tsx bench/repro/undici-h2-abort-spin.ts defer-destroy
//     the other A/B: the destroy of an already closed stream deferred by one setImmediate
import { spawn } from "node:child_process";
import { channel } from "node:diagnostics_channel";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";
import { DemoUpstream } from "../../src/demo/demo-upstream.js";
import { installHttp2CancelOnAbort } from "../../src/upstream/http2-cancel-on-abort.js";
import { REQUEST_TAG_HEADER } from "../../src/upstream/socket-ledger.js";

const ROUNDS = 40;
const CALLERS = 16;
const MAX_RSS_MB = 1_000;
const SILENCE_MS = 3_000;

const DEFER_DESTROY = process.argv.includes("defer-destroy");
const CANCEL = process.argv.includes("cancel");

if (process.argv[2] === "client") await runClient(JSON.parse(process.argv[3] ?? "{}"));
else process.exit(await watchClient());

/** Rounds of CALLERS streaming requests, the i-th aborted after i ms; one line per round. */
async function runClient({ origin, ca }: { origin: string; ca: string }): Promise<void> {
  if (DEFER_DESTROY) channel("http2.client.stream.created").subscribe(deferDestroyOfClosedStream);
  if (CANCEL) installHttp2CancelOnAbort();
  const pool = new Pool(origin, { allowH2: true, connect: { ca }, connections: 4 });
  for (let round = 0; round < ROUNDS; round++) {
    const calls = Array.from({ length: CALLERS }, async (_, i) => {
      const body = JSON.stringify({
        model: `r${round}-${i}`,
        stream: true,
        messages: [{ role: "user", content: "x" }],
      });
      // The tag marks a request as the gateway's pools', whose streams the fix covers.
      const headers = { "content-type": "application/json", [REQUEST_TAG_HEADER]: `r${round}-${i}` };
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
  const upstream = await new DemoUpstream().start();
  const self = fileURLToPath(import.meta.url);
  const target = JSON.stringify({ origin: upstream.origin, ca: upstream.ca });
  const mode = process.argv.slice(2).filter((arg) => arg === "defer-destroy" || arg === "cancel");
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
