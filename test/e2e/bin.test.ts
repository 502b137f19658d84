import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, expect, test } from "vitest";
import { parse as parseYaml } from "yaml";
import { GatewayService } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { CallerKeys, keyHash } from "../../src/access/caller-keys.js";
import { writeConfigFile } from "../support/gateway-process.js";
import { startTestGateway } from "../support/test-gateway.js";

// `npx weaver-gateway` is how the README runs the gateway outside npm scripts: from a clone, npx
// finds the package's own bin, and the pinned Node runs it.
const root = join(import.meta.dirname, "..", "..");
const run = promisify(execFile);
const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: "info" };
delete env.WEAVER_CONFIG;
delete env.PORT;

const removals: (() => void)[] = [];
afterEach(() => {
  for (const remove of removals.splice(0)) remove();
});

function config(document: unknown): string {
  const { file, remove } = writeConfigFile(document);
  removals.push(remove);
  return file;
}

const npx = (...args: string[]) =>
  run("npx", ["--offline", "weaver-gateway", ...args], { cwd: root, env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

test("check names every problem of a config and exits 2; a valid one exits 0", async () => {
  const bad = config({
    server: { port: "eighty" },
    models: { chat: { deployments: [{ provider: "nope", model: "m" }] } },
  });
  const refused = await npx("check", "--config", bad);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain("server.port: ");
  expect(refused.stderr).toContain('models.chat.deployments[0].provider: unknown provider "nope"');

  const valid = await npx("check", "--config", config({ server: { port: 0 } }));
  expect(valid).toMatchObject({ code: 0, stdout: expect.stringMatching(/is valid; models: demo/) });
}, 60_000);

test("--help prints the commands; an unknown command is exit 2", async () => {
  expect((await npx("--help")).stdout).toMatch(/^usage: npx weaver-gateway \[command\]/);
  const unknown = await npx("serve-forever");
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain('unknown command "serve-forever"');
}, 60_000);

test("keys new prints a key and the config entry that lets it in; usage reads that key's calls back", async () => {
  const made = await npx("keys", "new", "--name", "team-a");
  expect(made.code).toBe(0);
  const key = /^key: (wgk_\S+)$/m.exec(made.stdout)?.[1] ?? "";
  const entry = parseYaml(made.stdout.slice(made.stdout.indexOf("keys:")));
  expect(entry.keys[0].sha256).toBe(keyHash(key));
  const gateway = await startTestGateway({ keys: entry.keys });
  try {
    expect(new CallerKeys(gateway.gateway.config.keys).authenticate(key)?.name).toBe("team-a");
    const client = createClient(GatewayService, createGrpcTransport({ baseUrl: gateway.url }));
    await client.generate(
      { model: "demo", messages: [{ role: "user", content: "bill me" }] },
      { headers: { authorization: `Bearer ${key}` } },
    );
    const usage = await run("npx", ["--offline", "weaver-gateway", "usage", "--url", gateway.url, "--json"], {
      cwd: root,
      env: { ...env, WEAVER_API_KEY: key },
    });
    expect(JSON.parse(usage.stdout.trim())).toMatchObject({ key: "team-a", model: "demo", requests: 1 });
  } finally {
    await gateway.close();
  }
  const unnamed = await npx("keys", "new", "--name", "two words");
  expect(unnamed.code).toBe(2);
  expect(unnamed.stderr).toContain("--name must be");
}, 60_000);

test("npx weaver-gateway --config FILE runs the gateway with its deployed Node flags, and Ctrl-C stops it", async () => {
  const file = config({ server: { host: "127.0.0.1", port: 0 } });
  // A process group of its own, as a terminal gives a command it runs in the foreground.
  const npxProcess = spawn("npx", ["--offline", "weaver-gateway", "--config", file], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  removals.push(() => {
    try {
      process.kill(-(npxProcess.pid as number), "SIGKILL"); // whatever a failed run left
    } catch {}
  });
  const lines: string[] = [];
  const output = createInterface({ input: npxProcess.stdout as NodeJS.ReadableStream });
  let url = "";
  for await (const line of output) {
    lines.push(line);
    url = (JSON.parse(line) as { url?: string }).url ?? "";
    if (url) break;
  }
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  // The gateway is the bin's own process, become Node with the flags npm start and the image use.
  expect(gatewaysNaming(file)).toEqual([
    expect.stringMatching(
      /--max-semi-space-size=16 --single-threaded-gc --import \S+ \S+src\/main\.ts --config/,
    ),
  ]);

  const exited = once(npxProcess, "exit");
  // Ctrl-C: the terminal sends SIGINT to the whole foreground group, npm, its shell and the gateway.
  process.kill(-(npxProcess.pid as number), "SIGINT");
  for await (const line of createInterface({ input: npxProcess.stdout as NodeJS.ReadableStream }))
    lines.push(line);
  await exited;
  expect(lines.map((line) => (JSON.parse(line) as { msg?: string }).msg)).toContain("stopped");
  expect(gatewaysNaming(file)).toEqual([]);
}, 60_000);

/** The command lines of this machine's gateway processes (src/main.ts) whose arguments name `file`. */
function gatewaysNaming(file: string): string[] {
  const lines: string[] = [];
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    } catch {
      continue; // it exited meanwhile
    }
    if (args.includes(file) && args.some((arg) => arg.endsWith("src/main.ts"))) lines.push(args.join(" "));
  }
  return lines;
}
