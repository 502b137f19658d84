import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";

// The README's full example, as a new user first tries it: keys unset, no certificates. Every
// problem is named in one run, by its path, with exit 2 and no stack, by `npm run check-config`
// and by the gateway's own start alike.
const root = join(import.meta.dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "weaver-check-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function readmeFullExample(): string {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### A full file"));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  if (yaml === undefined) throw new Error("no YAML block under '### A full file' in the README");
  return yaml;
}

function run(script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env))
    if (/^(OPENAI_|ANTHROPIC_|AZURE_|GEMINI_|AWS_|WEAVER_|HOST$|PORT$)/.test(name) || name.endsWith("_KEY"))
      delete env[name];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", script, ...args],
      { cwd: root, env },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

const file = join(dir, "gateway.yaml");
writeFileSync(file, readmeFullExample());
const expected = [
  `invalid config (${file}):`,
  `  server.tls.cert_file: cannot read ${join(dir, "server.crt")} (ENOENT)`,
  `  server.tls.key_file: cannot read ${join(dir, "server.key")} (ENOENT)`,
  "  providers.openai.api_key_env: the environment variable OPENAI_API_KEY is not set",
  "  providers.openai-eu.api_key_env: the environment variable OPENAI_EU_KEY is not set",
  "  providers.vllm.ca_file: cannot read /etc/ssl/private-ca.pem (ENOENT)",
  "  providers.anthropic.api_key_env: the environment variable ANTHROPIC_API_KEY is not set",
  "  providers.azure.api_key_env: the environment variable AZURE_OPENAI_API_KEY is not set",
  "  providers.groq.api_key_env: the environment variable GROQ_API_KEY is not set",
  "  providers.gemini.api_key_env: the environment variable GEMINI_API_KEY is not set",
  "  providers.bedrock.access_key_id_env: the environment variable AWS_ACCESS_KEY_ID is not set",
  "  providers.bedrock.secret_access_key_env: the environment variable AWS_SECRET_ACCESS_KEY is not set",
];

test("check-config names every problem of the README's full example at once, exit 2", async () => {
  const result = await run("src/cli/check-config.ts", ["--config", file]);
  expect(result.code).toBe(2);
  expect(result.stderr.trimEnd().split("\n")).toEqual(expected);
  expect(result.stdout).toBe("");
});

test("the gateway's start says the same, and starts nothing", async () => {
  const result = await run("src/main.ts", ["--config", file]);
  expect(result.code).toBe(2);
  expect(result.stderr.trimEnd().split("\n")).toEqual(expected);
  expect(result.stdout).not.toContain("listening");
});

test("a config that would start is reported valid, with its models; exit 0", async () => {
  const valid = join(dir, "valid.yaml");
  writeFileSync(valid, "server:\n  port: 0\n");
  const result = await run("src/cli/check-config.ts", ["--config", valid]);
  expect(result).toMatchObject({ code: 0, stdout: `${valid} is valid; models: demo\n` });
});

test("an unknown flag is named, with the usage; exit 2", async () => {
  const result = await run("src/cli/check-config.ts", ["--bogus"]);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain("Unknown option '--bogus'");
  expect(result.stderr).toContain("usage: npm run check-config");
});
