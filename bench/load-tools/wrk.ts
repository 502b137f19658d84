import { join } from "node:path";
import type { LoadResult } from "../job.js";
import { ROOT, runTool } from "../processes.js";

/** wrk (HTTP/1.1, C, one thread per core): the load where the Node load generator would saturate first. */

const SCRIPT = join(ROOT, "bench/load-tools/chat-completions.lua");

export interface WrkJob {
  /** Full URL, e.g. http://127.0.0.1:8080/v1/chat/completions (https works too, HTTP/1.1 only). */
  url: string;
  body: string;
  headers?: Record<string, string>;
  /** Connections, each one request at a time: the concurrency. */
  connections: number;
  durationMs: number;
  /** wrk threads; at most one per connection. Default 1. */
  threads?: number;
}

interface WrkSummary {
  requests: number;
  durationUs: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  errors: Record<"connect" | "read" | "write" | "status" | "timeout", number>;
}

/** Runs wrk once on `cpus`; latency percentiles come from wrk's own histogram (chat-completions.lua's done()). */
export async function runWrk(job: WrkJob, cpus: string | undefined): Promise<LoadResult> {
  const threads = Math.max(1, Math.min(job.threads ?? 1, job.connections));
  // wrk's -d takes whole seconds: a second more as a cap, and SIGINT ends it on time.
  const seconds = Math.ceil(job.durationMs / 1000) + 1;
  const headers = Object.entries(job.headers ?? {}).map(([name, value]) => `${name}: ${value}`);
  const args = [
    "-t",
    String(threads),
    "-c",
    String(job.connections),
    "-d",
    `${seconds}s`,
    "--timeout",
    "10s",
  ];
  args.push("-s", SCRIPT, job.url, "--", job.body, ...headers);
  const stdout = await runTool("wrk", args, cpus, job.durationMs);
  const line = stdout.split("\n").find((l) => l.startsWith("wrk-result "));
  if (line === undefined) throw new Error(`wrk printed no result: ${stdout.slice(-500)}`);
  const s = JSON.parse(line.slice("wrk-result ".length)) as WrkSummary;
  // wrk counts a response over 399 as a status error but still as a request.
  const failed = Object.entries(s.errors).filter(([, n]) => n > 0);
  const errors = failed.reduce((sum, [, n]) => sum + n, 0);
  const elapsedMs = s.durationUs / 1000;
  return {
    calls: s.requests + errors - s.errors.status,
    errors,
    ...(errors === 0 ? {} : { firstError: `wrk: ${failed.map(([kind, n]) => `${n} ${kind}`).join(", ")}` }),
    elapsedMs,
    rps: ((s.requests - s.errors.status) * 1000) / elapsedMs,
    // wrk's histogram gives any percentile; p90 and the mean are not needed here.
    latency: {
      p50: s.p50Us / 1000,
      p90: Number.NaN,
      p99: s.p99Us / 1000,
      max: s.maxUs / 1000,
      mean: Number.NaN,
    },
  };
}
