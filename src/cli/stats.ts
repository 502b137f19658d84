import { parseArgs } from "node:util";
import { parseDuration } from "../config/duration.js";
import { cacheStatsTable } from "./cache-stats-table.js";
import { cliGatewayClient } from "./gateway-client.js";
import { poolStatsTable } from "./pool-stats-table.js";

/**
 * `npm run stats -- [--url URL] [--watch] [--interval 2s]`: PoolStats of a running gateway as a
 * table, and its response cache's hits, misses and hit rate per model once it has used it.
 */
const USAGE = `usage: npm run stats -- [--url URL] [--watch] [--interval DURATION]
  --url URL            the gateway (default WEAVER_URL, else http://127.0.0.1:8080)
  --watch              redraw the table every --interval
  --interval DURATION  500ms, 2s, ... (default 2s)
WEAVER_API_KEY is presented as the caller key (an admin key, when server.protect_admin is on).`;

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        url: { type: "string", default: process.env.WEAVER_URL ?? "http://127.0.0.1:8080" },
        watch: { type: "boolean", default: false },
        interval: { type: "string", default: "2s" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    return usageError((error as Error).message);
  }
})();
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (!/^https?:\/\/[^/]/.test(values.url))
  usageError(`--url must be a URL such as http://127.0.0.1:8080, not "${values.url}"`);
// A duration as the config writes them ("500ms", "2s"); a bare number is seconds, as it always was.
const intervalMs = /^\d+(\.\d+)?$/.test(values.interval)
  ? Number(values.interval) * 1000
  : parseDuration(values.interval);
if (intervalMs === undefined || intervalMs <= 0)
  usageError(`--interval must be a duration such as 500ms or 2s, not "${values.interval}"`);
const client = cliGatewayClient(values.url);

async function show(): Promise<void> {
  const [stats, cache] = await Promise.all([client.poolStats({}), cacheTable()]);
  const table = [poolStatsTable(stats), ...(cache ? ["", cache] : [])].join("\n");
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

/** The response cache's table from /metrics; undefined when the gateway has not used its cache. */
async function cacheTable(): Promise<string | undefined> {
  const key = process.env.WEAVER_API_KEY;
  const response = await fetch(`${values.url}/metrics`, {
    headers: key ? { authorization: `Bearer ${key}` } : {},
  });
  return response.ok ? cacheStatsTable(await response.text()) : undefined;
}

function usageError(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}
