import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { cpuSeconds } from "../proc.js";

/**
 * What the kernel says beyond one process: how busy a set of cores is, whose sockets reach a port,
 * and when a process has gone quiet.
 */

/** Busy and total jiffies of the cores in `cpus` ("1", "1-3"), summed, from /proc/stat. */
export function coreJiffies(cpus: string): { busy: number; total: number } {
  const [first, last = first] = cpus.split("-").map(Number) as [number, number?];
  let busy = 0;
  let total = 0;
  for (const line of readFileSync("/proc/stat", "utf8").split("\n")) {
    const match = /^cpu(\d+) (.*)$/.exec(line);
    if (!match || Number(match[1]) < first || Number(match[1]) > (last as number)) continue;
    const fields = (match[2] as string).trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
    const sum = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    total += sum;
    busy += sum - (fields[3] ?? 0) - (fields[4] ?? 0);
  }
  return { busy, total };
}

/** Share of the time the cores in `cpus` were busy between two coreJiffies readings (0 to 1). */
export function busyShare(before: { busy: number; total: number }, after: { busy: number; total: number }) {
  return (after.busy - before.busy) / Math.max(1, after.total - before.total);
}

/** Established TCP connections that process `pid` holds to `port` (on any address), from /proc. */
export function connectionsTo(pid: number, port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (target.startsWith("socket:[")) inodes.add(target.slice(8, -1));
    } catch {
      // Closed since the listing.
    }
  }
  let count = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      if (f[3] !== "01" || !inodes.has(f[9] as string)) continue;
      if (Number.parseInt(f[2]?.split(":")[1] ?? "", 16) === port) count++;
    }
  }
  return count;
}

/**
 * Resolves once `pid` spends under a fifth of a core over 50 ms (at most `capMs`). A load tool
 * that stops leaves calls in flight: a gateway still answering them would slow the next run.
 */
export async function untilIdle(pid: number, capMs = 3000): Promise<void> {
  const until = performance.now() + capMs;
  let last = cpuSeconds(pid);
  while (performance.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = cpuSeconds(pid);
    if (now - last <= 0.01) return;
    last = now;
  }
}
