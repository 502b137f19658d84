import { parseArgs } from "node:util";
import type { UsageRow } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { alignedLines } from "./aligned-lines.js";
import { cliGatewayClient } from "./gateway-client.js";

/** `npm run usage -- [--url URL] [--from DAY] [--to DAY] [--key NAME]...`: GetUsage as a table. */
const USAGE = `usage: npm run usage -- [--url URL] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--key NAME]... [--json]
  --url URL   the gateway (default WEAVER_URL, else http://127.0.0.1:8080)
  --from, --to  UTC days, inclusive (default today)
  --key NAME  only this key's rows (repeatable; "" for calls made without a key)
  --json      the rows as JSON, one object per line
WEAVER_API_KEY is presented as the caller key: an admin key reads every key's usage, another key its own.`;

const COLUMNS = [
  "day",
  "key",
  "model",
  "requests",
  "input",
  "output",
  "cached input",
  "cost USD",
  "estimated",
  "unpriced",
];

let values: {
  url: string;
  from?: string | undefined;
  to?: string | undefined;
  key?: string[] | undefined;
  json: boolean;
};
try {
  const parsed = parseArgs({
    options: {
      url: { type: "string", default: process.env.WEAVER_URL ?? "http://127.0.0.1:8080" },
      from: { type: "string" },
      to: { type: "string" },
      key: { type: "string", multiple: true },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (parsed.values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  values = parsed.values;
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
  process.exit(2);
}

try {
  const { rows } = await cliGatewayClient(values.url).getUsage({
    fromDay: values.from ?? "",
    toDay: values.to ?? "",
    keys: values.key ?? [],
  });
  if (values.json) {
    for (const row of rows) process.stdout.write(`${JSON.stringify(rowCells(row, false))}\n`);
  } else process.stdout.write(`${usageTable(rows)}\n`);
} catch (error) {
  process.stderr.write(`cannot read usage from ${values.url}: ${(error as Error).message}\n`);
  process.exit(1);
}

function rowCells(row: UsageRow, text: true): string[];
function rowCells(row: UsageRow, text: false): Record<string, string | number>;
function rowCells(row: UsageRow, text: boolean) {
  const cells = [
    row.day,
    row.key === "" ? "(no key)" : row.key,
    row.model,
    Number(row.requests),
    Number(row.inputTokens),
    Number(row.outputTokens),
    Number(row.cachedInputTokens),
    row.costUsd,
    Number(row.estimatedRequests),
    Number(row.unpricedRequests),
  ];
  if (!text) return Object.fromEntries(COLUMNS.map((column, i) => [column, cells[i] as string | number]));
  return cells.map((cell, i) => (i === 7 ? (cell as number).toFixed(6) : String(cell)));
}

function usageTable(rows: UsageRow[]): string {
  if (rows.length === 0) return "no usage in those days";
  return alignedLines([COLUMNS, ...rows.map((row) => rowCells(row, true))], 3).join("\n");
}
