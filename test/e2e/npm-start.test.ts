import { spawn } from "node:child_process";
import { once } from "node:events";
import { connect } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { expect, test } from "vitest";

// `npm start` runs the gateway under npm and a shell. A SIGTERM to npm (a supervisor stopping the
// process it started) must reach the gateway, which drains and stops, rather than leave it running.
const root = join(import.meta.dirname, "..", "..");

test("SIGTERM to npm start drains and stops the gateway", async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: "0", LOG_LEVEL: "info" };
  delete env.WEAVER_CONFIG;
  const npm = spawn("npm", ["start", "--silent"], { cwd: root, env, stdio: ["ignore", "pipe", "inherit"] });
  const lines: string[] = [];
  let url = "";
  for await (const line of createInterface({ input: npm.stdout as NodeJS.ReadableStream })) {
    lines.push(line);
    const entry = JSON.parse(line) as { url?: string };
    if (entry.url) {
      url = entry.url;
      break;
    }
  }
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const exited = once(npm, "exit");
  npm.kill("SIGTERM");
  const rest = createInterface({ input: npm.stdout as NodeJS.ReadableStream });
  for await (const line of rest) lines.push(line);
  await exited;
  expect(lines.map((line) => (JSON.parse(line) as { msg?: string }).msg)).toContain("stopped");
  // Nothing listens there any more: the gateway itself is gone, not only npm.
  const { port } = new URL(url);
  const refused = await new Promise<boolean>((resolve) => {
    const socket = connect(Number(port), "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
  expect(refused).toBe(true);
}, 30_000);

test("on a terminal the gateway prints lines a person reads; through a pipe, JSON", async () => {
  // `script` gives the gateway a pseudo-terminal for its stdout, as a developer's shell would.
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: "0", LOG_LEVEL: "info" };
  delete env.WEAVER_CONFIG;
  const command = `${process.execPath} --import tsx src/main.ts`;
  const terminal = spawn("script", ["-qfc", command, "/dev/null"], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let printed = "";
  terminal.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    printed += chunk;
  });
  try {
    await expect.poll(() => printed, { timeout: 20_000 }).toContain("weaver-gateway listening on");
    // pino-pretty's line: a time, the level's name, the message; then the fields one per line.
    expect(printed).toMatch(/\[\d\d:\d\d:\d\d\.\d{3}\] \S*INFO\S*: \S*weaver-gateway listening on http/);
    expect(printed).not.toContain('{"level"');
  } finally {
    terminal.kill("SIGTERM");
    await once(terminal, "exit");
  }
}, 30_000);
