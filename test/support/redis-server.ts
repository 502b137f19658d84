import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

/** A real redis-server (Debian's package, installed by `npm test`) on a free loopback port, nothing persisted. */
export interface RedisServer {
  /** e.g. redis://127.0.0.1:40111 */
  readonly url: string;
  readonly port: number;
  /** Stops it (SIGKILL: tests that need Redis gone want it gone at once). */
  stop(): Promise<void>;
}

/** `port`: start it again where a stopped one listened (a Redis that comes back). */
export async function startRedisServer({ port: wanted }: { port?: number } = {}): Promise<RedisServer> {
  const port = wanted ?? (await freePort());
  const child = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--protected-mode",
      "yes",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000);
    const check = () => {
      if (output.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", check);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(
        new Error(
          `redis-server could not be started (is Debian's redis-server installed?): ${error.message}`,
        ),
      );
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${output}`));
    });
  });
  return { url: `redis://127.0.0.1:${port}`, port, stop: () => stopChild(child) };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}
