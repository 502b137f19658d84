import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { ROOT } from "../processes.js";
import { type LatencySummary, summarize } from "../stats.js";
import type { CallRecord } from "./steady-caller.js";

/** The well-behaved caller's process, seen from the orchestrator: its calls, sliced by time window. */

export interface WindowStats {
  calls: number;
  errors: number;
  firstError?: string;
  latency: LatencySummary;
}

export class GoodCaller {
  private readonly child: ChildProcess;
  private readonly records: CallRecord[] = [];

  constructor(
    url: string,
    rate: number,
    cpus: string | undefined,
    readonly timeoutMs = 5_000,
  ) {
    const args = [
      "--import",
      "tsx",
      "bench/flood/steady-caller.ts",
      JSON.stringify({ url, rate, timeoutMs }),
    ];
    const [command, argv] =
      cpus === undefined ? [process.execPath, args] : ["taskset", ["-c", cpus, process.execPath, ...args]];
    this.child = spawn(command, argv, { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] });
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      for (const record of JSON.parse(line) as CallRecord[]) this.records.push(record);
    });
  }

  /** Calls that started in [from, to), wall-clock ms; ask once they have had time to finish. */
  window(from: number, to: number): WindowStats {
    const inside = this.records.filter(([startedAt]) => startedAt >= from && startedAt < to);
    const failed = inside.filter(([, , error]) => error !== null);
    return {
      calls: inside.length,
      errors: failed.length,
      ...(failed[0] && { firstError: failed[0][2] as string }),
      latency: summarize(inside.filter(([, , error]) => error === null).map(([, ms]) => ms)),
    };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, "exit");
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Wall-clock ms with sub-millisecond precision, the clock the caller stamps its calls with. */
export const wallNow = (): number => performance.timeOrigin + performance.now();
