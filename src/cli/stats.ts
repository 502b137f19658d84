import { parseArgs } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { GatewayService } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { parseDuration } from "../config/duration.js";
import { poolStatsTable } from "./pool-stats-table.js";

/** `npm run stats -- [--url URL] [--watch] [--interval 2s]`: PoolStats of a running gateway, as a table. */
const { values } = parseArgs({
  options: {
    url: { type: "string", default: process.env.WEAVER_URL ?? "http://127.0.0.1:8080" },
    watch: { type: "boolean", default: false },
    interval: { type: "string", default: "2s" },
  },
});
// A duration as the config writes them ("500ms", "2s"); a bare number is seconds, as it always was.
const intervalMs = /^\d+(\.\d+)?$/.test(values.interval)
  ? Number(values.interval) * 1000
  : parseDuration(values.interval);
if (intervalMs === undefined || intervalMs <= 0) {
  process.stderr.write(`--interval must be a duration such as 500ms or 2s, not "${values.interval}"\n`);
  process.exit(2);
}
const client = createClient(
  GatewayService,
  createConnectTransport({ baseUrl: values.url, httpVersion: "1.1" }),
);

async function show(): Promise<void> {
  const table = poolStatsTable(await client.poolStats({}));
  // On a terminal, --watch redraws in place.
  const clear = values.watch && process.stdout.isTTY ? "\x1b[2J\x1b[H" : "";
  process.stdout.write(
    `${clear}weaver-gateway ${values.url}  ${new Date().toLocaleTimeString()}\n${table}\n`,
  );
}

try {
  await show();
  if (values.watch) setInterval(() => show().catch(fail), intervalMs);
} catch (error) {
  fail(error);
}

function fail(error: unknown): never {
  process.stderr.write(`cannot read PoolStats from ${values.url}: ${(error as Error).message}\n`);
  process.exit(1);
}
