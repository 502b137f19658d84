import { createInterface } from "node:readline";
import { callFor, closeAll } from "./clients.js";
import type { LoadJob, LoadResult } from "./job.js";
import { summarize } from "./stats.js";

/**
 * The load generator, run as its own process so that its CPU is not the gateway's. Give it one
 * job as an argument, or JSON lines of jobs on stdin: it answers each with a JSON line of results.
 */

/** Bounds an open-loop run against a target that has stopped answering. */
const MAX_IN_FLIGHT = 20_000;

async function runJob(job: LoadJob): Promise<LoadResult> {
  const call = callFor(job);
  const latencies: number[] = [];
  const firstDeltas: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let deltas = 0;
  let started = 0;
  const one = async (index: number) => {
    const startedAt = performance.now();
    try {
      const result = await call(index);
      latencies.push(performance.now() - startedAt);
      if (result.firstDeltaAt !== undefined) firstDeltas.push(result.firstDeltaAt - startedAt);
      deltas += result.deltas ?? 0;
    } catch (error) {
      errors++;
      firstError ??= error instanceof Error ? error.message : String(error);
    }
  };

  const begin = performance.now();
  if (job.rate !== undefined) {
    const total = job.count ?? Math.round((job.rate * (job.durationMs ?? 1000)) / 1000);
    const inFlight = new Set<Promise<void>>();
    // Open loop: each call starts on schedule, however long earlier calls take.
    while (started < total) {
      const due = Math.min(total, Math.floor(((performance.now() - begin) * job.rate) / 1000) + 1);
      while (started < due && inFlight.size < MAX_IN_FLIGHT) {
        const p = one(started++).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(inFlight);
  } else {
    const concurrency = job.concurrency ?? 1;
    const deadline = job.durationMs === undefined ? Number.POSITIVE_INFINITY : begin + job.durationMs;
    const count = job.count ?? Number.POSITIVE_INFINITY;
    const worker = async () => {
      while (started < count && performance.now() < deadline) await one(started++);
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }
  const elapsedMs = performance.now() - begin;
  return {
    calls: started,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
    elapsedMs,
    rps: (latencies.length * 1000) / elapsedMs,
    latency: summarize(latencies),
    ...(job.rpc === "stream" ? { firstDelta: summarize(firstDeltas), deltas } : {}),
  };
}

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (arg !== undefined) {
    process.stdout.write(`${JSON.stringify(await runJob(JSON.parse(arg) as LoadJob))}\n`);
  } else {
    for await (const line of createInterface({ input: process.stdin })) {
      if (line.trim() === "") continue;
      let answer: unknown;
      try {
        answer = await runJob(JSON.parse(line) as LoadJob);
      } catch (error) {
        answer = { fatal: error instanceof Error ? error.message : String(error) };
      }
      process.stdout.write(`${JSON.stringify(answer)}\n`);
    }
  }
  closeAll();
  process.exit(0);
}

await main();
