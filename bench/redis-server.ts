import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { ensureDebianPackages } from "./load-tools/ensure-load-tools.js";
import { freePort } from "./processes.js";

/**
 * A real redis-server (Debian's package, installed when missing) on a loopback port, nothing
 * persisted: for the bench's scenarios and the suite's shared-store tests alike.
 */
export interface RedisServer {
  /** e.g. redis://127.0.0.1:40111 */
  readonly url: string;
  readonly port: number;
  /** Stops it at once (SIGKILL: a test that needs Redis gone wants it gone now). */
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** Start where a stopped one listened (a Redis that comes back); default a free port. */
  port?: number;
  /** Run it under taskset on these cores (the bench's load cores). */
  cpus?: string | undefined;
  progress?: (message: string) => void;
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  ensureDebianPackages({ "redis-server": "redis-server" }, options.progress ?? (() => {}));
  const port = options.port ?? (await freePort());
  const args = [
    "redis-server",
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
  ];
  const [file, ...argv] = options.cpus === undefined ? args : ["taskset", "-c", options.cpus, ...args];
  const child = spawn(file as string, argv, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`redis-server did not start: ${output.slice(-500)}`)),
      10_000,
    );
    const settle = (error?: Error) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    };
    child.stderr.setEncoding("utf8").on("data", (text: string) => {
      output += text;
    });
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      output += text;
      if (output.includes("Ready to accept connections")) settle();
    });
    child.once("error", (error) => settle(new Error(`redis-server could not be started: ${error.message}`)));
    child.once("exit", (code) =>
      settle(new Error(`redis-server exited with ${code}: ${output.slice(-500)}`)),
    );
  });
  return { url: `redis://127.0.0.1:${port}`, port, stop: () => kill(child) };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  await exited;
}
