import { readFileSync } from "node:fs";

/**
 * A file the configuration names (a CA, a certificate, a key), read at start. One that cannot be
 * read is a problem named by its config path, added to `problems`, so that every such mistake is
 * reported at once instead of one per start; the result is then empty.
 */
export function readConfiguredFile(file: string, path: string, problems: string[]): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    problems.push(`${path}: cannot read ${file}${typeof code === "string" ? ` (${code})` : ""}`);
    return "";
  }
}
