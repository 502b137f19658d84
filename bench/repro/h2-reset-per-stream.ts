/**
 * A pooled HTTP/2 connection that a Node.js upstream closes after about a thousand streamed
 * completions, when the client stops reading at `data: [DONE]` and destroys the body: the
 * stream has not ended yet (END_STREAM comes after), so undici resets it, RST_STREAM(NO_ERROR),
 * and nghttp2's rapid-reset limit (a burst of 1000, then 33 a second) answers with
 * GOAWAY(INTERNAL_ERROR), failing every stream in flight on the connection (here the client's
 * own limit on frames for streams it has reset may give out first). A packet capture shows one
 * RST_STREAM per request, then the GOAWAY; reading to the end resets nothing. The gateway did
 * this until its provider read finished streams to their end and stopped passing on the
 * caller's end-of-RPC abort (src/providers/http-provider.ts). Context: nodejs/node#56306.
 *
 *   node --import tsx bench/repro/h2-reset-per-stream.ts [reset|drain] [requests] [concurrency]
 */
import { Pool } from "undici";
import { DemoUpstream } from "../../src/demo/demo-upstream.js";

/** "reset": stop reading at [DONE] and destroy the body, as the gateway did; "drain": read to the end. */
const mode = process.argv[2] === "drain" ? "drain" : "reset";
const requests = Number(process.argv[3] ?? 3000);
const concurrency = Number(process.argv[4] ?? 10);

const upstream = await new DemoUpstream().start();
const goaways: string[] = [];
const server = (upstream as unknown as { server: import("node:http2").Http2SecureServer }).server;
server.on("sessionError", (error) => goaways.push(`the upstream's session failed: ${error.message}`));

const pool = new Pool(upstream.origin, { allowH2: true, connections: 1, connect: { ca: upstream.ca } });
const body = JSON.stringify({ model: "demo", messages: [{ role: "user", content: "hi" }], stream: true });
let started = 0;
let ok = 0;
const failures = new Map<string, number>();
const worker = async () => {
  while (started < requests) {
    started++;
    try {
      const response = await pool.request({
        path: "/v1/chat/completions",
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      let text = "";
      for await (const chunk of response.body.setEncoding("utf8")) {
        text += chunk;
        // Leaving the loop destroys the body, and with it the stream, unless it has ended.
        if (mode === "reset" && text.includes("data: [DONE]")) break;
      }
      ok++;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failures.set(message, (failures.get(message) ?? 0) + 1);
    }
  }
};
await Promise.all(Array.from({ length: concurrency }, worker));
console.log(`${mode}: ${ok} of ${requests} requests succeeded at concurrency ${concurrency}`);
for (const [message, count] of failures) console.log(`  ${count} failed: ${message}`);
for (const line of goaways) console.log(`  ${line}`);
await pool.destroy();
await upstream.close();
