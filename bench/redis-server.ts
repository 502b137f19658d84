import { spawn } from "node:child_process";
import { once } from "node:events";
import { ensureDebianPackages } from "./load-tools/ensure-load-tools.js";
import { freePort } from "./processes.js";

/** A redis-server for a scenario (Debian's package, installed when missing), nothing persisted. */
export interface BenchRedis {
  url: string;
  stop(): Promise<void>;
}

/** Starts redis-server on a free loopback port, on the load cores when pinned. */
export async function startBenchRedis(
  cpus: string | undefined,
  progress: (message: string) => void,
): Promise<BenchRedis> {
  ensureDebianPackages({ "redis-server": "redis-server" }, progress);
  const port = await freePort();
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
  const [file, ...argv] = cpus === undefined ? args : ["taskset", "-c", cpus, ...args];
  const child = spawn(file as string, argv, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      output += text;
      if (output.includes("Ready to accept connections")) resolve();
    });
    child.once("exit", (code) =>
      reject(new Error(`redis-server exited with ${code}: ${output.slice(-500)}`)),
    );
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    },
  };
}
