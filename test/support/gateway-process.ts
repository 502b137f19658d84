import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify as toYaml } from "yaml";

/** The repository root: the gateway runs from here, as `npm start` would run it. */
const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** One line the gateway logged on stdout, parsed from JSON. */
export type LogLine = Record<string, unknown>;

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be spawned at all. */
  error?: Error;
}

/** The real gateway (`src/main.ts --config <file>`, run by Node with tsx's loader) as a child process. */
export interface GatewayProcess {
  readonly child: ChildProcess;
  /** Where it listens, from its "listening" log line, e.g. http://127.0.0.1:40111. */
  readonly url: string;
  readonly port: number;
  /** The YAML file it was started with (rewrite it, then SIGHUP, to reload). */
  readonly configFile: string;
  /** Its stdout log lines so far, parsed (lines that are not JSON are kept as { text }). */
  readonly logs: LogLine[];
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Settles when the process exits (with its code or signal). */
  readonly exited: Promise<ProcessExit>;
  /** Resolves with the first log line (present or future) that `matches`. */
  waitForLog(matches: (line: LogLine) => boolean, guardMs?: number): Promise<LogLine>;
  /** SIGKILLs it if it is still running, and removes its config directory. */
  dispose(): Promise<void>;
}

/** Writes `config` as YAML to a fresh temp directory; returns the file path and a cleanup. */
export function writeConfigFile(config: unknown): { file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "weaver-gateway-test-"));
  const file = join(dir, "gateway.yaml");
  writeFileSync(file, typeof config === "string" ? config : toYaml(config));
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts the gateway with `config` (an object written as YAML, or YAML text) and waits until it listens. */
export async function spawnGateway(
  config: unknown,
  { startGuardMs = 30_000, nodeFlags = [] as string[] } = {},
): Promise<GatewayProcess> {
  const { file, remove } = writeConfigFile(config);
  const child = spawnMain(file, nodeFlags);
  const logs: LogLine[] = [];
  const logWaiters = new Set<{ matches: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>();
  let stderrText = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderrText += chunk;
  });
  let pending = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const text of lines) {
      if (text.trim() === "") continue;
      const line = parseLogLine(text);
      logs.push(line);
      for (const waiter of logWaiters) {
        if (waiter.matches(line)) {
          logWaiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    }
  });
  const exited = exitOf(child);

  const waitForLog = (matches: (line: LogLine) => boolean, guardMs = 10_000) => {
    const seen = logs.find(matches);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<LogLine>((resolve, reject) => {
      const waiter = {
        matches,
        resolve: (line: LogLine) => {
          clearTimeout(guard);
          resolve(line);
        },
      };
      const fail = (why: string) => {
        if (!logWaiters.delete(waiter)) return;
        clearTimeout(guard);
        reject(new Error(`${why}; stderr:\n${stderrText}\nstdout:\n${JSON.stringify(logs, null, 1)}`));
      };
      const guard = setTimeout(() => fail(`no matching log line within ${guardMs} ms`), guardMs);
      logWaiters.add(waiter);
      // `exited` settles after stdout is fully read, so every line has been seen by then.
      void exited.then((exit) => fail(`the gateway exited (${JSON.stringify(exit)}) without that log line`));
    });
  };

  const dispose = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
    remove();
  };

  let listening: LogLine;
  try {
    listening = await waitForLog((line) => typeof line.url === "string", startGuardMs);
  } catch (error) {
    await dispose();
    throw error;
  }
  const url = listening.url as string;
  return {
    child,
    url,
    port: Number(new URL(url).port),
    configFile: file,
    logs,
    stderr: () => stderrText,
    exited,
    waitForLog,
    dispose,
  };
}

/** Runs the gateway with `config` until it exits by itself (e.g. on a bad config). */
export async function runGatewayToExit(
  config: unknown,
): Promise<ProcessExit & { stdout: string; stderr: string }> {
  const { file, remove } = writeConfigFile(config);
  try {
    const child = spawnMain(file);
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const exit = await exitOf(child);
    return { ...exit, stdout, stderr };
  } finally {
    remove();
  }
}

/**
 * `node --import tsx src/main.ts`: the gateway is the one process, so SIGTERM reaches its own handler
 * and its exit code is its own. Not the `tsx` CLI: that wraps the gateway in a second process that
 * relays signals and SIGKILLs the gateway (exit 143) when it does not acknowledge a relayed signal
 * within ~60 ms, which a loaded machine does not always manage.
 */
function spawnMain(configFile: string, nodeFlags: string[] = []): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: "info" };
  // HOST, PORT and WEAVER_CONFIG from the test's environment would override the config file.
  delete env.HOST;
  delete env.PORT;
  delete env.WEAVER_CONFIG;
  // process.execPath is the pinned Node running the tests, not the system's.
  return spawn(process.execPath, [...nodeFlags, "--import", "tsx", "src/main.ts", "--config", configFile], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Resolves once the process has exited and its stdout and stderr are fully read; never rejects. */
function exitOf(child: ChildProcess): Promise<ProcessExit> {
  return new Promise((resolve) => {
    child.once("close", (code: number | null, signal: NodeJS.Signals | null) => resolve({ code, signal }));
    // A process that could not be spawned emits "error" and may never emit "close".
    child.once("error", (error) => resolve({ code: null, signal: null, error }));
  });
}

function parseLogLine(text: string): LogLine {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null) return value as LogLine;
  } catch {
    // Not a log line: tsx or Node printing something of its own.
  }
  return { text };
}
