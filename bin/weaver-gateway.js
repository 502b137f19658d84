#!/usr/bin/env node
// `npx weaver-gateway [start|check|stats|keys|usage] [flags]`: the gateway, its config check and its pool
// table, outside npm scripts. The process becomes the command (process.execve), so a supervisor's
// SIGTERM reaches the gateway itself and its exit code is the gateway's.
import { fileURLToPath } from "node:url";

const USAGE = `usage: npx weaver-gateway [command] [flags]

commands:
  start   run the gateway (the default)   --config FILE  (default: WEAVER_CONFIG, else the built-in default)
  check   validate a config without starting: every problem with its path, exit 2 when any
          --config FILE
  stats   PoolStats of a running gateway as a table   --url URL  --watch  --interval 2s
  keys    keys new --name NAME: a new caller key, and the config entry that holds its SHA-256
  usage   usage per key, model and day from a running gateway   --url URL  --from DAY  --to DAY  --key NAME

Environment: PORT, HOST, WEAVER_CONFIG, LOG_LEVEL, the key variables the config names, and
WEAVER_API_KEY (the caller key \`stats\` and \`usage\` present, when the gateway wants one).`;

/**
 * How the gateway is run, as deployed: a 16 MiB young generation and no GC helper threads on its
 * one core (README, "Young generation and GC threads"). npm start and the Docker image run the same.
 */
const GATEWAY_NODE_FLAGS = ["--max-semi-space-size=16", "--single-threaded-gc"];

const COMMANDS = {
  start: { script: "src/main.ts", nodeFlags: GATEWAY_NODE_FLAGS },
  check: { script: "src/cli/check-config.ts", nodeFlags: [] },
  stats: { script: "src/cli/stats.ts", nodeFlags: [] },
  keys: { script: "src/cli/keys.ts", nodeFlags: [] },
  usage: { script: "src/cli/usage.ts", nodeFlags: [] },
};

const [first, ...rest] = process.argv.slice(2);
if (first === "--help" || first === "-h" || first === "help") {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
// No command, or a flag first, is `start`: `npx weaver-gateway --config gateway.yaml`.
const [name, args] =
  first === undefined || first.startsWith("-") ? ["start", process.argv.slice(2)] : [first, rest];
const command = COMMANDS[name];
if (command === undefined) {
  process.stderr.write(`unknown command "${name}"\n${USAGE}\n`);
  process.exit(2);
}
if (typeof process.execve !== "function") {
  process.stderr.write(`weaver-gateway needs Node 22.19 or newer; this is ${process.version}\n`);
  process.exit(2);
}
const script = fileURLToPath(new URL(`../${command.script}`, import.meta.url));
// tsx from this package, wherever the command is run from.
const tsx = import.meta.resolve("tsx");
process.execve(
  process.execPath,
  [process.execPath, ...command.nodeFlags, "--import", tsx, script, ...args],
  process.env,
);
