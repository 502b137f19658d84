import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { DemoUpstream } from "./demo-upstream.js";

/** `npm run demo-upstream`: the demo upstream alone, for tests and benchmarks. */
const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    ttft: { type: "string", default: "0" },
    "inter-token": { type: "string", default: "0" },
    "ca-out": { type: "string" },
    // Cleartext HTTP/1.1 with keep-alive instead of TLS with ALPN h2: no certificate, so no --ca-out.
    plain: { type: "boolean", default: false },
  },
});
const upstream = await new DemoUpstream({
  host: values.host,
  port: Number(values.port),
  timeToFirstTokenMs: Number(values.ttft),
  interTokenDelayMs: Number(values["inter-token"]),
  plain: values.plain,
}).start();
const caFile = upstream.ca === "" ? undefined : values["ca-out"];
if (caFile) writeFileSync(caFile, upstream.ca);
// One JSON line on stdout tells a parent process where to connect and what to trust.
process.stdout.write(`${JSON.stringify({ origin: upstream.origin, ca: caFile ?? null })}\n`);
const stop = () => void upstream.close().then(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
