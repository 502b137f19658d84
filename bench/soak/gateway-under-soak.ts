import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cpuSeconds } from "../proc.js";
import { DEPLOYED_NODE_FLAGS } from "../processes.js";
import {
  type ChildMessage,
  type ChildSetup,
  type GatewaySample,
  type ParentMessage,
  SETUP_ENV,
} from "./child-protocol.js";

/** The parent's handle on the gateway child: start it, ask it for samples, stop it. */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHILD = fileURLToPath(new URL("./gateway-child.ts", import.meta.url));
const START_GUARD_MS = 30_000;
/** A sample is a full GC and a walk of /proc: well under a second even on a busy machine. */
const SAMPLE_GUARD_MS = 15_000;
const STOP_GUARD_MS = 15_000;

export interface GatewayUnderSoak {
  readonly url: string;
  readonly pid: number;
  /** How the process ended, once it has; undefined while it runs. */
  exit(): string | undefined;
  sample(): Promise<GatewaySample>;
  /** The last lines it wrote to stderr (a crash's stack trace lands there). */
  stderrTail(): string;
  stop(): Promise<void>;
}

export interface GatewayUnderSoakOptions extends ChildSetup {
  /** Where the gateway's JSON log lines go. */
  logFile: string;
  logLevel: string;
}

export async function startGatewayUnderSoak(options: GatewayUnderSoakOptions): Promise<GatewayUnderSoak> {
  const setup: ChildSetup = { config: options.config, upstreamPorts: options.upstreamPorts };
  const log = openSync(options.logFile, "w");
  // process.execPath is the Node that runs the soak (the pinned Node 24 under npm scripts); the
  // garbage collector is the image's (Dockerfile), so that RSS is what a deployment shows.
  const flags = ["--expose-gc", ...DEPLOYED_NODE_FLAGS, "--import", "tsx"];
  const child = spawn(process.execPath, [...flags, CHILD], {
    cwd: ROOT,
    env: { ...process.env, [SETUP_ENV]: JSON.stringify(setup), LOG_LEVEL: options.logLevel },
    stdio: ["ignore", log, "pipe", "ipc"],
  });
  closeSync(log);
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-8_000);
  });
  let exit: string | undefined;
  const pending = new Map<number, { resolve: (s: GatewaySample) => void; reject: (e: Error) => void }>();
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exit = signal ? `killed by ${signal}` : `exited with code ${code}`;
      for (const waiter of pending.values()) waiter.reject(new Error(`the gateway ${exit}`));
      pending.clear();
      resolve();
    });
  });
  child.on("error", (error) => {
    exit ??= `could not run: ${error.message}`;
  });

  const url = await new Promise<string>((resolve, reject) => {
    const guard = setTimeout(
      () => reject(new Error("the gateway did not start within 30 s")),
      START_GUARD_MS,
    );
    child.on("message", (message: ChildMessage) => {
      if (message.type === "ready") resolve(message.url);
      else if (message.type === "failed")
        reject(new Error(`the gateway failed to start: ${message.message}`));
      else pending.get(message.id)?.resolve(message.sample);
      if (message.type !== "sample") clearTimeout(guard);
    });
    void exited.then(() => reject(new Error(`the gateway ${exit} before it listened\n${stderr}`)));
  }).catch(async (error: unknown) => {
    await kill(child, exited);
    throw error;
  });

  let nextId = 0;
  return {
    url,
    pid: child.pid ?? -1,
    exit: () => exit,
    stderrTail: () => stderr,
    sample: () => {
      if (exit !== undefined) return Promise.reject(new Error(`the gateway ${exit}`));
      const id = nextId++;
      const cpuBefore = cpuOf(child);
      return new Promise<GatewaySample>((resolve, reject) => {
        const guard = setTimeout(() => {
          pending.delete(id);
          // CPU near the whole interval: a busy loop; near none: waiting on something that never comes.
          const cpu = (cpuOf(child) - cpuBefore).toFixed(1);
          reject(
            new Error(`the gateway did not answer a sample request within 15 s (it used ${cpu} s of CPU)`),
          );
        }, SAMPLE_GUARD_MS);
        const done = () => {
          clearTimeout(guard);
          pending.delete(id);
        };
        pending.set(id, {
          resolve: (sample) => {
            done();
            resolve(sample);
          },
          reject: (error) => {
            done();
            reject(error);
          },
        });
        child.send({ type: "sample", id } satisfies ParentMessage);
      });
    },
    stop: async () => {
      if (exit !== undefined) return;
      child.send({ type: "stop" } satisfies ParentMessage);
      const guard = setTimeout(() => child.kill("SIGKILL"), STOP_GUARD_MS);
      await exited;
      clearTimeout(guard);
    },
  };
}

function cpuOf(child: ChildProcess): number {
  try {
    return cpuSeconds(child.pid ?? -1);
  } catch {
    return Number.NaN;
  }
}

async function kill(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await exited;
}
