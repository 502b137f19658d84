import { parseArgs } from "node:util";
import { keyHash, newCallerKey } from "../access/caller-keys.js";

/**
 * `npx weaver-gateway keys new --name NAME` (or `npm run keys -- new --name NAME`): a fresh random
 * caller key, and the config stanza that lets it in, which holds its SHA-256 and never the key.
 */
const USAGE = `usage: npx weaver-gateway keys new --name NAME
  prints a new caller key (give it to the caller; it is shown once) and the keys: entry for the config`;

try {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { name: { type: "string" }, help: { type: "boolean", short: "h", default: false } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const name = values.name ?? "";
  if (positionals[0] !== "new" || positionals.length !== 1) throw new Error('the command is "keys new"');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name))
    throw new Error(
      "--name must be 1-64 letters, digits, dots, dashes or underscores (it names the key in logs and usage)",
    );
  const key = newCallerKey();
  process.stdout.write(
    [
      `key: ${key}`,
      "",
      "# Give the key to its caller (authorization: Bearer <key>); it is not shown again.",
      "# Add this to the gateway's config; it holds the key's SHA-256, never the key:",
      "keys:",
      `  - name: ${name}`,
      `    sha256: "${keyHash(key)}"`,
      '    # models: ["*"]        # globs over model names and aliases; omitted: every model',
      "    # limits: { requests_per_minute: 100, tokens_per_minute: 50000, concurrent: 10, budget_usd: { amount: 50, per: month } }",
      "",
    ].join("\n"),
  );
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
