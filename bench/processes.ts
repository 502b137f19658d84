import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { type AddressInfo, connect, createServer } from "node:net";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { LoadJob, LoadResult } from "./job.js";

/** Children the bench starts: the demo upstream, gateways, peer gateways and the load generator. */

export const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Node's flags as `npm start` and the Docker image run the gateway: what a deployment measures. */
export const DEPLOYED_NODE_FLAGS = ["--max-semi-space-size=16", "--single-threaded-gc"];

/** Which cores each process is pinned to, when `taskset` and two cores are there. */
export interface Pinning {
  enabled: boolean;
  gateway: string;
  load: string;
  description: string;
}

export function detectPinning(disabled: boolean): Pinning {
  const cores = availableParallelism();
  let hasTaskset = false;
  try {
    execFileSync("taskset", ["-V"], { stdio: "ignore" });
    hasTaskset = true;
  } catch {}
  const enabled = !disabled && hasTaskset && cores >= 2;
  return {
    enabled,
    gateway: "0",
    load: `1-${cores - 1}`.replace(/^1-1$/, "1"),
    description: enabled
      ? `taskset: gateway on CPU 0; load generator and upstream on CPU ${cores === 2 ? "1" : `1-${cores - 1}`}`
      : `not pinned (${disabled ? "--no-pin" : hasTaskset ? `${cores} core` : "no taskset"})`,
  };
}

/** Starts `node args...`, under taskset when pinned. The pid is node's: taskset execs it. */
function spawnNode(
  args: string[],
  cpus: string | undefined,
  options: Parameters<typeof spawn>[2],
): ChildProcess {
  const [command, argv] =
    cpus === undefined ? [process.execPath, args] : ["taskset", ["-c", cpus, process.execPath, ...args]];
  return spawn(command, argv, { cwd: ROOT, ...options });
}

/**
 * Runs a load tool (wrk, h2load) to its end, under taskset when pinned; resolves with its stdout.
 * `interruptAfterMs` sends SIGINT that long after the tool's first line (wrk's "Running ...", once
 * its SIGINT handler is set; stdbuf makes it line-buffered): wrk takes whole seconds, and stops
 * early and reports on SIGINT.
 */
export async function runTool(
  command: string,
  args: string[],
  cpus: string | undefined,
  interruptAfterMs?: number,
): Promise<string> {
  const line = interruptAfterMs === undefined ? [command, ...args] : ["stdbuf", "-oL", command, ...args];
  const [file, ...argv] = cpus === undefined ? line : ["taskset", "-c", cpus, ...line];
  const child = spawn(file as string, argv, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let timer: NodeJS.Timeout | undefined;
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => {
    if (stdout === "" && interruptAfterMs !== undefined) {
      timer = setTimeout(() => child.kill("SIGINT"), interruptAfterMs);
    }
    stdout += text;
  });
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const [code, signal] = (await once(child, "close").finally(() => clearTimeout(timer))) as [
    number | null,
    string,
  ];
  if (code !== 0) {
    throw new Error(`${command} exited with ${code ?? signal}: ${(stderr || stdout).trim().slice(-500)}`);
  }
  return stdout;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

async function firstLine(lines: Interface, child: ChildProcess, what: string): Promise<string> {
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`${what} exited (code ${code}) before it was ready`);
  });
  const line = (async () => {
    for await (const l of lines) return l;
    throw new Error(`${what} closed stdout before it was ready`);
  })();
  return Promise.race([line, exited]);
}

export interface Upstream {
  origin: string;
  /** The PEM file to trust for it; "" for a cleartext upstream. */
  caFile: string;
  pid: number;
  stop(): Promise<void>;
}

export interface UpstreamOptions {
  ttftMs?: number;
  interTokenMs?: number;
  /** Cleartext HTTP/1.1 with keep-alive instead of TLS with ALPN h2 and http/1.1. */
  plain?: boolean;
}

let children = 0;

/** The demo upstream, standalone: OpenAI chat completions over TLS (ALPN h2), or cleartext HTTP/1.1. */
export async function startUpstream(
  tmpDir: string,
  pin: Pinning,
  { ttftMs = 0, interTokenMs = 0, plain = false }: UpstreamOptions = {},
): Promise<Upstream> {
  const caFile = plain ? "" : join(tmpDir, `upstream-${++children}-ca.pem`);
  const args = ["dist/src/demo/main.js", "--port", "0", "--ttft", String(ttftMs)];
  args.push("--inter-token", String(interTokenMs), ...(plain ? ["--plain"] : ["--ca-out", caFile]));
  const child = spawnNode(args, pin.enabled ? pin.load : undefined, { stdio: ["ignore", "pipe", "inherit"] });
  const line = await firstLine(
    createInterface({ input: child.stdout as NodeJS.ReadableStream }),
    child,
    "upstream",
  );
  const { origin } = JSON.parse(line) as { origin: string };
  return { origin, caFile, pid: child.pid as number, stop: () => stopChild(child) };
}

export interface GatewayProcess {
  url: string;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * A gateway from the compiled build, its config written to a file. Its log goes to a file, not
 * a pipe, so no reader competes for CPU and a full pipe never stalls it. `pinned: false` leaves it
 * every core, as several `server.workers` need.
 */
export async function startGatewayProcess(
  tmpDir: string,
  pin: Pinning,
  name: string,
  config: unknown,
  env: { caFile: string; logLevel: string; nodeFlags?: string[]; pinned?: boolean },
): Promise<GatewayProcess> {
  const id = ++children;
  const configFile = join(tmpDir, `gateway-${id}-${name}.yaml`);
  const logFile = join(tmpDir, `gateway-${id}-${name}.log`);
  // JSON is YAML, so the config needs no YAML writer.
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  // A port picked here rather than PORT=0, so readiness does not depend on the log level.
  const port = await freePort();
  const log = openSync(logFile, "w");
  const child = spawnNode(
    // The young generation `npm start` and the image give the gateway (see the Dockerfile).
    [...DEPLOYED_NODE_FLAGS, ...(env.nodeFlags ?? []), "dist/src/main.js", "--config", configFile],
    pin.enabled && env.pinned !== false ? pin.gateway : undefined,
    {
      stdio: ["ignore", log, log],
      env: { ...process.env, NODE_EXTRA_CA_CERTS: env.caFile, LOG_LEVEL: env.logLevel, PORT: String(port) },
    },
  );
  closeSync(log);
  await waitForPort(
    child,
    port,
    () => `gateway ${name} (log: ${readFileSync(logFile, "utf8").slice(-2000)})`,
  );
  return { url: `http://127.0.0.1:${port}`, pid: child.pid as number, logFile, stop: () => stopChild(child) };
}

/** Where the peer gateways are installed, with their own lockfile: never dependencies of the gateway. */
const PEERS_DIR = join(ROOT, "bench/peers");
const PORTKEY_SERVER = join(PEERS_DIR, "node_modules/@portkey-ai/gateway/build/start-server.js");

/**
 * The pinned Portkey gateway (bench/peers), run as its README says, on this same Node and core as
 * ours; `npm ci` installs it first when missing. It has no CA option: NODE_EXTRA_CA_CERTS is how
 * it trusts a TLS upstream. Its log (one line per request) goes to a file, as the gateway's does.
 */
export async function startPortkey(tmpDir: string, pin: Pinning, caFile: string): Promise<GatewayProcess> {
  if (!existsSync(PORTKEY_SERVER)) {
    // npm's progress goes to stderr: stdout is the report.
    execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: PEERS_DIR, stdio: ["ignore", 2, 2] });
  }
  const logFile = join(tmpDir, `portkey-${++children}.log`);
  const port = await freePort();
  const log = openSync(logFile, "w");
  // `--port=N`: it reads only that form.
  const child = spawnNode(
    [PORTKEY_SERVER, `--port=${port}`, "--headless"],
    pin.enabled ? pin.gateway : undefined,
    {
      cwd: PEERS_DIR,
      stdio: ["ignore", log, log],
      env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile },
    },
  );
  closeSync(log);
  await waitForPort(child, port, () => `portkey (log: ${readFileSync(logFile, "utf8").slice(-2000)})`);
  return { url: `http://127.0.0.1:${port}`, pid: child.pid as number, logFile, stop: () => stopChild(child) };
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(child: ChildProcess, port: number, describe: () => string): Promise<void> {
  const until = performance.now() + 20_000;
  while (performance.now() < until) {
    if (child.exitCode !== null) throw new Error(`${describe()} exited with code ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${describe()} did not listen within 20 s`);
}

/** The load generator child: jobs go in as JSON lines, results come back the same way. */
export class LoadGenerator {
  private readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;

  constructor(pin: Pinning) {
    this.child = spawnNode(
      ["--import", "tsx", "bench/load-generator.ts"],
      pin.enabled ? pin.load : undefined,
      {
        stdio: ["pipe", "pipe", "inherit"],
      },
    );
    this.lines = createInterface({ input: this.child.stdout as NodeJS.ReadableStream })[
      Symbol.asyncIterator
    ]();
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Runs one job; the caller awaits each before sending the next. */
  async run(job: LoadJob): Promise<LoadResult> {
    this.child.stdin?.write(`${JSON.stringify(job)}\n`);
    const next = await this.lines.next();
    if (next.done) throw new Error("the load generator exited");
    const answer = JSON.parse(next.value) as LoadResult & { fatal?: string };
    if (answer.fatal !== undefined) throw new Error(`load generator: ${answer.fatal}`);
    return answer;
  }

  async stop(): Promise<void> {
    this.child.stdin?.end();
    await stopChild(this.child);
  }
}
