import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../config/load-config.js";

/**
 * `npm run check-config -- [--config FILE]`: what starting the gateway would say of a config
 * (the schema, references, key variables and files, every problem with its path), without
 * starting it. Exit 0 when it would start, 2 when not.
 */
const USAGE =
  "usage: npm run check-config -- [--config FILE]   (default: WEAVER_CONFIG, else the built-in default)";

let file: string | undefined;
try {
  const { values } = parseArgs({
    options: { config: { type: "string" }, help: { type: "boolean", short: "h", default: false } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  file = values.config ?? process.env.WEAVER_CONFIG;
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
  process.exit(2);
}

try {
  const config = loadConfig({ file, env: process.env });
  const models = Object.keys(config.models).join(", ") || "none";
  process.stdout.write(`${file ?? "the built-in default"} is valid; models: ${models}\n`);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}
