import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LoadResult } from "../job.js";
import { runTool } from "../processes.js";
import { summarize } from "../stats.js";

/**
 * h2load (nghttp2, C): HTTP/2 load over h2c, one session with many streams as a gRPC client
 * holds, or several sessions.
 */

export interface H2loadJob {
  /** Full URL, e.g. http://127.0.0.1:8080/weaver.gateway.v1.GatewayService/Generate. */
  url: string;
  /** The request body, POSTed with every request. */
  body: string | Uint8Array;
  headers: Record<string, string>;
  /** Streams in flight, spread evenly over the connections: the concurrency. */
  streams: number;
  /** Connections (h2load clients), 1 unless set: one, as a gRPC client holds. */
  connections?: number;
  /**
   * Requests to make. By count, not time: in timing mode (-D) h2load's connection got its first
   * response about 200 ms late here, every run, which a short run cannot absorb.
   */
  count: number;
  /**
   * h2load cannot read gRPC trailers, so a failed call (a trailers-only response with HTTP 200)
   * shows only as a response without data: fewer data bytes than this per response is a failure.
   */
  minDataBytesPerResponse?: number;
  /** A scratch directory for the body and the per-request log. */
  tmpDir: string;
}

let runs = 0;

/** Runs h2load once on `cpus`; latencies are every request's, from its --log-file. */
export async function runH2load(job: H2loadJob, cpus: string | undefined): Promise<LoadResult> {
  const id = ++runs;
  const bodyFile = join(job.tmpDir, `h2load-${id}.body`);
  const logFile = join(job.tmpDir, `h2load-${id}.log`);
  writeFileSync(bodyFile, job.body);
  const headers = Object.entries(job.headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]);
  const connections = job.connections ?? 1;
  if (job.streams % connections !== 0)
    throw new Error(`h2load: ${job.streams} streams over ${connections} connections`);
  const args = ["-n", String(job.count), "-c", String(connections), "-m", String(job.streams / connections)];
  args.push("-t", "1", "-d", bodyFile, ...headers, "--log-file", logFile, job.url);
  try {
    const stdout = await runTool("h2load", args, cpus);
    const rows = readFileSync(logFile, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => line.split("\t").map(Number) as [number, number, number]);
    const ok = rows.filter(([, status]) => status === 200);
    // Reduced, not spread: a long run logs more rows than a call may take arguments.
    const first = rows.reduce((min, [start]) => Math.min(min, start), Number.POSITIVE_INFINITY);
    const last = rows.reduce((max, [start, , us]) => Math.max(max, start + us), Number.NEGATIVE_INFINITY);
    const elapsedMs = (last - first) / 1000;
    const dataBytes = Number(/traffic: .*?\((\d+)\) data/.exec(stdout)?.[1] ?? Number.NaN);
    const notOk = rows.length - ok.length;
    // Without trailers, responses short of data cannot be told apart: all of them are suspect.
    const unread = dataBytes < ok.length * (job.minDataBytesPerResponse ?? 0);
    const errors = unread ? rows.length : notOk;
    const problem = unread
      ? `only ${dataBytes} data bytes in ${ok.length} responses (calls that failed in their trailers?)`
      : `${notOk} of ${rows.length} requests without HTTP 200`;
    return {
      calls: rows.length,
      errors,
      ...(errors === 0 ? {} : { firstError: `h2load: ${problem}` }),
      elapsedMs,
      rps: (ok.length * 1000) / elapsedMs,
      latency: summarize(ok.map(([, , us]) => us / 1000)),
    };
  } finally {
    rmSync(bodyFile, { force: true });
    rmSync(logFile, { force: true });
  }
}
