import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { createServer as createTcpServer, type Server } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it, test, vi } from "vitest";
import { FinishReason, GatewayService } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { demoTokens } from "../../src/demo/demo-text.js";
import {
  type GatewayProcess,
  runGatewayToExit,
  spawnGateway,
  writeConfigFile,
} from "../support/gateway-process.js";

// `server.workers: 2`, run as `npm start` runs it: a cluster primary and two worker processes on
// one port, each with its own pools, whose admin views sum both whichever worker answers.
const PROCESS_TEST_TIMEOUT_MS = 60_000;
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const execFileAsync = promisify(execFile);
const CALLS = 20;
const TOKENS = 30;

const CONFIG = {
  server: { host: "127.0.0.1", port: 0, workers: 2, drain_timeout: "20s" },
  providers: { demo: { type: "demo", inter_token_delay: "20ms" } },
  models: { demo: { deployments: [{ provider: "demo", model: "demo" }] } },
};

/** A client on a connection of its own: the primary hands each new connection to the next worker. */
const newClient = (url: string): Client<typeof GatewayService> =>
  createClient(GatewayService, createGrpcTransport({ baseUrl: url }));

/** One Connect Generate on a fresh HTTP/1.1 connection. */
function generateOnNewConnection(url: string, prompt: string): Promise<number | undefined> {
  const body = JSON.stringify({ model: "demo", messages: [{ role: "user", content: prompt }], maxTokens: 2 });
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/weaver.gateway.v1.GatewayService/Generate`, {
      method: "POST",
      agent: false,
      headers: { "content-type": "application/json" },
    });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("server.workers: 2", () => {
  let gateway: GatewayProcess;
  beforeAll(async () => {
    gateway = await spawnGateway(CONFIG);
  }, PROCESS_TEST_TIMEOUT_MS);
  afterAll(() => gateway?.dispose());

  it("serves the one port from both workers; PoolStats, ListModels and /metrics sum them, with a worker breakdown", async () => {
    const statuses = await Promise.all(
      Array.from({ length: CALLS }, (_, i) => generateOnNewConnection(gateway.url, `call ${i}`)),
    );
    expect(statuses).toEqual(Array(CALLS).fill(200));

    // Asked on two connections, so each worker answers once: the same whole-gateway view.
    const [stats, again] = await Promise.all([
      newClient(gateway.url).poolStats({}),
      newClient(gateway.url).poolStats({}),
    ]);
    expect(stats.workers.map((w) => w.worker).sort()).toEqual([0, 1]);
    expect(new Set(stats.workers.map((w) => w.pid)).size).toBe(2);
    const perWorker = stats.workers.map((w) => Number(w.totals?.requestsTotal));
    // Each worker warmed its own pool (one request) and served some of the calls.
    for (const requests of perWorker) expect(requests).toBeGreaterThan(1);
    expect(Number(stats.totals?.requestsTotal)).toBe(CALLS + 2);
    expect(perWorker.reduce((a, b) => a + b)).toBe(CALLS + 2);
    expect(Number(again.totals?.requestsTotal)).toBe(CALLS + 2);
    // Each worker's demo upstream is its own origin.
    expect(stats.origins).toHaveLength(2);
    // npm run stats shows each worker's share under the total.
    const { stdout } = await execFileAsync(
      join(ROOT, "node_modules/.bin/node"),
      ["--import", "tsx", "src/cli/stats.ts", "--url", gateway.url],
      { cwd: ROOT },
    );
    for (const { worker, pid } of stats.workers)
      expect(stdout).toMatch(new RegExp(`^\\s+worker ${worker} \\(pid ${pid}\\)\\s+\\d+`, "m"));

    const models = await newClient(gateway.url).listModels({});
    const deployment = models.models.find((m) => m.name === "demo")?.deployments[0];
    expect(deployment?.workers.map((w) => w.worker).sort()).toEqual([0, 1]);
    expect(Number(deployment?.requestsTotal)).toBe(CALLS);
    expect(deployment?.workers.reduce((sum, w) => sum + Number(w.requestsTotal), 0)).toBe(CALLS);
    expect(deployment?.state).toBe("healthy");

    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    const checked = await promtool(text);
    expect(checked.code, checked.output).toBe(0);
    const samples = (name: string) =>
      [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))].map((m) => Number(m[1]));
    const sum = (name: string) => samples(name).reduce((a, b) => a + b, 0);
    expect(sum("weaver_pool_requests_total")).toBe(CALLS + 2);
    expect(samples("weaver_worker_pool_requests_total")).toEqual(perWorker);
    // Generation calls: the 20 Generate calls, summed across the workers that served them.
    const generated = [
      ...text.matchAll(/^weaver_rpc_requests_total\{[^}]*method="Generate"[^}]*\} (\S+)$/gm),
    ];
    expect(generated.reduce((total, m) => total + Number(m[1]), 0)).toBe(CALLS);
    expect(samples("weaver_worker_process_resident_memory_bytes")).toHaveLength(2);
    // A ratio is recomputed from the sums, never added up past 1.
    for (const ratio of samples("weaver_pool_reuse_ratio")) expect(ratio).toBeLessThanOrEqual(1);
  });

  it("reloads every worker on SIGHUP", async () => {
    gateway.child.kill("SIGHUP");
    const reloaded = (worker: number) =>
      gateway.waitForLog((line) => line.msg === "config reloaded" && line.worker === worker);
    await Promise.all([reloaded(0), reloaded(1)]);
  });

  it(
    "replaces a worker that dies; the port and the whole-gateway view carry on",
    async () => {
      const before = await newClient(gateway.url).poolStats({});
      const victim = before.workers.find((w) => w.worker === 0);
      expect(victim).toBeDefined();
      process.kill(victim?.pid ?? 0, "SIGKILL");
      await gateway.waitForLog((line) => line.msg === "worker replaced" && line.worker === 0, 30_000);
      const after = await newClient(gateway.url).poolStats({});
      expect(after.workers.map((w) => w.worker).sort()).toEqual([0, 1]);
      expect(after.workers.find((w) => w.worker === 0)?.pid).not.toBe(victim?.pid);
      expect(await generateOnNewConnection(gateway.url, "after the replacement")).toBe(200);
      expect(gateway.logs).toContainEqual(
        expect.objectContaining({
          level: "error",
          msg: "worker exited; starting another in its place",
          worker: 0,
        }),
      );
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

test("SIGTERM drains the streams of every worker, then the gateway exits 0", {
  timeout: PROCESS_TEST_TIMEOUT_MS,
}, async () => {
  const gateway = await spawnGateway(CONFIG);
  try {
    const prompts = Array.from({ length: 8 }, (_, i) => `stream ${i}`);
    let started = 0;
    let allStarted = () => {};
    const everyStreamStarted = new Promise<void>((resolve) => {
      allStarted = resolve;
    });
    const streams = prompts.map(async (prompt) => {
      let text = "";
      let finish: FinishReason | undefined;
      for await (const message of newClient(gateway.url).generateStream({
        model: "demo",
        messages: [{ role: "user", content: prompt }],
        maxTokens: TOKENS,
      })) {
        if (message.event.case === "start" && ++started === prompts.length) allStarted();
        if (message.event.case === "delta") text += message.event.value.text;
        if (message.event.case === "finish") finish = message.event.value.finishReason;
      }
      return { prompt, text, finish };
    });
    await Promise.race([everyStreamStarted, Promise.all(streams)]);
    const serving = await newClient(gateway.url).poolStats({});
    // The premise: the streams run on both workers.
    expect(serving.workers.every((w) => (w.totals?.inFlight ?? 0) > 0)).toBe(true);
    gateway.child.kill("SIGTERM");
    for (const { prompt, text, finish } of await Promise.all(streams)) {
      expect(text).toBe(demoTokens(prompt, TOKENS).join(""));
      expect(finish).toBe(FinishReason.LENGTH);
    }
    expect(await gateway.exited).toEqual({ code: 0, signal: null });
    const stopped = gateway.logs.filter((line) => line.msg === "stopped").map((line) => line.worker);
    expect(stopped.sort()).toEqual([0, 1, undefined]);
    expect(gateway.stderr()).toBe("");
  } finally {
    await gateway.dispose();
  }
});

test("a port in use stops the gateway of two workers with exit code 2 and the reason", {
  timeout: PROCESS_TEST_TIMEOUT_MS,
}, async () => {
  const taken: Server = createTcpServer().listen(0, "127.0.0.1");
  await once(taken, "listening");
  try {
    const port = (taken.address() as { port: number }).port;
    const result = await runGatewayToExit({ ...CONFIG, server: { ...CONFIG.server, port } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`port ${port} is in use by another process`);
    expect(result.stdout).not.toContain('"url"');
  } finally {
    taken.close();
  }
});

function promtool(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile("promtool", ["check", "metrics"], (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` }),
    );
    child.stdin?.end(text);
  });
}

describe("workers while they warm up", () => {
  // An upstream that accepts TCP and never answers the TLS handshake: a worker's warm-up of it
  // takes its connect_timeout, a window in which the worker listens but is not yet ready.
  let stalled: Server;
  let gateway: GatewayProcess;
  beforeAll(async () => {
    stalled = createTcpServer((socket) => socket.on("error", () => {})).listen(0, "127.0.0.1");
    await once(stalled, "listening");
    const { port } = stalled.address() as { port: number };
    gateway = await spawnGateway({
      ...CONFIG,
      providers: {
        ...CONFIG.providers,
        slow: { type: "openai", base_url: `https://127.0.0.1:${port}/v1`, pool: { connect_timeout: "2s" } },
      },
    });
  }, PROCESS_TEST_TIMEOUT_MS);
  afterAll(async () => {
    await gateway?.dispose();
    stalled?.close();
  });

  it(
    "PoolStats counts a replacement that listens and warms, and a SIGHUP then does not kill it",
    async () => {
      const before = await newClient(gateway.url).poolStats({});
      const victim = before.workers.find((w) => w.worker === 0)?.pid ?? 0;
      process.kill(victim, "SIGKILL");
      // From the moment its replacement is forked: a call on a connection handed to the worker as
      // it was killed dies with it (its deadline ends it), which is not what is asked here.
      await gateway.waitForLog((line) => line.msg === "worker exited; starting another in its place");
      let ready = false;
      const replaced = gateway
        .waitForLog((line) => line.msg === "worker replaced" && line.worker === 0, 30_000)
        .finally(() => {
          ready = true;
        });
      // Asked again and again while the new worker 0 starts and warms: it answers, and is counted.
      const failures: string[] = [];
      let hungUp = false;
      while (!ready) {
        const pids = await newClient(gateway.url)
          .poolStats({}, { timeoutMs: 10_000 })
          .then((stats) => stats.workers.map((w) => w.pid))
          .catch((error: unknown) => {
            failures.push(String(error));
            return [] as number[];
          });
        if (!hungUp && pids.length === 2 && !pids.includes(victim)) {
          // The new worker is counted before it is ready: a SIGHUP now waits for it to be.
          gateway.child.kill("SIGHUP");
          hungUp = true;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await replaced;
      expect(failures).toEqual([]);
      expect(hungUp).toBe(true);
      await gateway.waitForLog((line) => line.msg === "config reloaded" && line.worker === 0, 10_000);
      const exits = gateway.logs.filter(
        (line) => line.msg === "worker exited; starting another in its place",
      );
      expect(exits).toHaveLength(1);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

test("a worker that keeps dying as it starts stops the gateway after a backoff, not in a loop", {
  timeout: PROCESS_TEST_TIMEOUT_MS,
}, async () => {
  const gateway = await spawnGateway(CONFIG);
  try {
    const stats = await newClient(gateway.url).poolStats({});
    // Every worker started from now on reads a file it cannot load.
    writeFileSync(gateway.configFile, "server: { drain_timout: 5s }\n");
    process.kill(stats.workers[0]?.pid ?? 0, "SIGKILL");
    const exit = await gateway.exited;
    expect(exit.code).toBe(1);
    const waits = gateway.logs
      .filter((line) => line.msg === "worker exited; starting another in its place")
      .map((line) => line.waitMs);
    // Once at once (it had been serving), then doubling while it cannot start.
    expect(waits).toEqual([0, 1000, 2000, 4000]);
    expect(gateway.logs).toContainEqual(
      expect.objectContaining({ msg: "a worker keeps dying before it listens; stopping the gateway" }),
    );
    expect(gateway.stderr()).toContain('server: unknown key "drain_timout"');
  } finally {
    await gateway.dispose();
  }
});

test("under another cluster parent (PM2's cluster mode) the gateway serves alone: no primary of ours to ask", {
  timeout: PROCESS_TEST_TIMEOUT_MS,
}, async () => {
  const { file, remove } = writeConfigFile({ ...CONFIG, server: { ...CONFIG.server, workers: 1 } });
  // A cluster primary that is not ours, forking the gateway as PM2 does.
  const parent = spawn(
    process.execPath,
    [
      "-e",
      `const cluster = require("node:cluster");
       cluster.setupPrimary({ exec: "src/main.ts", execArgv: ["--import", "tsx"], args: ["--config", ${JSON.stringify(file)}] });
       const worker = cluster.fork();
       process.on("SIGTERM", () => worker.kill("SIGTERM"));`,
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LOG_LEVEL: "info" } },
  );
  try {
    let stdout = "";
    parent.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    await vi.waitFor(() => expect(stdout).toContain("weaver-gateway listening on"), { timeout: 30_000 });
    const url = /"url":"([^"]+)"/.exec(stdout)?.[1] ?? "";
    const startedAt = performance.now();
    const stats = await newClient(url).poolStats({});
    expect(performance.now() - startedAt).toBeLessThan(2_000);
    expect(stats.workers).toEqual([]);
    expect(Number(stats.totals?.requestsTotal)).toBeGreaterThan(0);
  } finally {
    parent.kill("SIGTERM");
    await once(parent, "exit");
    remove();
  }
});
