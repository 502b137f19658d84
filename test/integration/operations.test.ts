import { execFile, spawn } from "node:child_process";
import { get, type IncomingMessage } from "node:http";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { GatewayService } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { createGrpcHealthClient } from "../support/grpc-health-client.js";
import { runConcurrently } from "../support/run-concurrently.js";
import { startTestGateway, type TestGateway } from "../support/test-gateway.js";

// What an operator does to a running gateway, with the tools an operator has.
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);
const hello = { model: "demo", messages: [{ role: "user", content: "hello" }], maxTokens: 4 };

describe("a started gateway", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(() => gw.close());

  test("after warm-up, the first request goes over a reused connection", async () => {
    const client = createClient(GatewayService, createGrpcTransport({ baseUrl: gw.url }));
    const response = await client.generate(hello);
    expect(response.upstream?.connectionReused).toBe(true);
  });

  test("buf curl lists the gateway's methods by reflection", async () => {
    const { stdout } = await run(
      "node_modules/.bin/buf",
      ["curl", "--http2-prior-knowledge", "--list-methods", gw.url],
      {
        cwd: ROOT,
      },
    );
    expect(stdout.trim().split("\n")).toEqual(
      expect.arrayContaining([
        "weaver.gateway.v1.GatewayService/Generate",
        "weaver.gateway.v1.GatewayService/GenerateStream",
        "weaver.gateway.v1.GatewayService/PoolStats",
        "weaver.gateway.v1.GatewayService/ListModels",
        "grpc.health.v1.Health/Check",
      ]),
    );
  });

  test("buf curl calls Generate without --schema", async () => {
    const url = `${gw.url}/weaver.gateway.v1.GatewayService/Generate`;
    const { stdout } = await run(
      "node_modules/.bin/buf",
      ["curl", "--http2-prior-knowledge", "-d", JSON.stringify(hello), url],
      { cwd: ROOT },
    );
    const response = JSON.parse(stdout) as { text: string; upstream: { provider: string } };
    expect(response.text.split(" ")).toHaveLength(4);
    expect(response.upstream.provider).toBe("demo");
  });

  test("GET /healthz and /readyz answer 200 once warm", async () => {
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe("ready\n");
  });

  test("an idle HTTP/1.1 connection is kept 5 min (server.connections.idle_timeout), longer than load balancers keep theirs", async () => {
    const response = await new Promise<IncomingMessage>((resolve, reject) =>
      get(`${gw.url}/healthz`, { headers: { connection: "keep-alive" } }, resolve).on("error", reject),
    );
    response.resume();
    expect(response.headers.connection).toBe("keep-alive");
    expect(response.headers["keep-alive"]).toBe("timeout=300");
  });

  test("/metrics passes promtool and its pool numbers equal PoolStats after a load", async () => {
    const client = createClient(GatewayService, createGrpcTransport({ baseUrl: gw.url }));
    await runConcurrently(100, 10, () => client.generate(hello));
    const stats = await client.poolStats({});
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    const checked = await promtool(text);
    expect(checked.code, checked.output).toBe(0);
    const origin = gw.demo.origin;
    const sample = (name: string) =>
      Number(new RegExp(`^${name}\\{origin="${origin}",protocol="h2"\\} (\\S+)$`, "m").exec(text)?.[1]);
    expect(sample("weaver_pool_requests_total")).toBe(Number(stats.totals?.requestsTotal));
    expect(sample("weaver_pool_connections_created_total")).toBe(
      Number(stats.totals?.connectionsCreatedTotal),
    );
    expect(sample("weaver_pool_requests_on_reused_connections_total")).toBe(
      Number(stats.totals?.requestsOnReusedConnections),
    );
    expect(sample("weaver_pool_reuse_ratio")).toBeCloseTo(stats.totals?.reuseRate ?? -1, 10);
    expect(text).toMatch(/^weaver_rpc_requests_total\{method="Generate",protocol="grpc",code="ok"\} \d+$/m);
    expect(text).toMatch(
      /^weaver_upstream_requests_total\{provider="demo",origin="[^"]+",status="200"\} \d+$/m,
    );
    expect(text).toMatch(/^weaver_gateway_overhead_seconds_count\{method="Generate"\} \d+$/m);
    expect(text).toMatch(/^weaver_tokens_total\{provider="demo",model="demo",direction="output"\} \d+$/m);
  });

  test("npm run stats prints the per-origin table", async () => {
    const { stdout } = await run("npm", ["run", "-s", "stats", "--", "--url", gw.url], { cwd: ROOT });
    const lines = stdout.split("\n");
    expect(lines.find((line) => line.startsWith("origin"))).toMatch(
      /reuse\s+connections\s+open\s+idle\s+in flight\s+queued/,
    );
    const row = lines.find((line) => line.startsWith(gw.demo.origin));
    expect(row).toMatch(/h2\s+\d+\s+\d+\.\d%/);
  });

  // Issue 12: "--interval 500ms" was read as 500 seconds.
  test("npm run stats --watch --interval 200ms redraws every 200 ms, not every 200 s", async () => {
    const watch = spawn(
      "npm",
      ["run", "-s", "stats", "--", "--url", gw.url, "--watch", "--interval", "200ms"],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let tables = 0;
    watch.stdout.setEncoding("utf8").on("data", (text: string) => {
      tables += text.split("\n").filter((line) => line.startsWith("origin")).length;
    });
    try {
      // Three tables at 200 ms take 400 ms; the bound only guards against a hang.
      await expect.poll(() => tables, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    } finally {
      watch.kill();
    }
  });

  test("npm run stats refuses an interval that is not a duration, exit 2", async () => {
    const error = await run("npm", ["run", "-s", "stats", "--", "--url", gw.url, "--interval", "soon"], {
      cwd: ROOT,
    }).then(
      () => expect.fail("stats accepted --interval soon"),
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(error.code).toBe(2);
    expect(error.stderr).toContain('--interval must be a duration such as 500ms or 2s, not "soon"');
  });

  test.each([
    {
      args: ["--url", "127.0.0.1:8080"],
      says: '--url must be a URL such as http://127.0.0.1:8080, not "127.0.0.1:8080"',
    },
    { args: ["--bogus"], says: "Unknown option '--bogus'" },
  ])("npm run stats $args is named with the usage, exit 2", async ({ args, says }) => {
    const error = await run("npm", ["run", "-s", "stats", "--", ...args], { cwd: ROOT }).then(
      () => expect.fail(`stats accepted ${args.join(" ")}`),
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(error.code).toBe(2);
    expect(error.stderr).toContain(says);
    expect(error.stderr).toContain("usage: npm run stats");
  });

  test("npm run stats --help prints the usage, exit 0", async () => {
    const { stdout } = await run("npm", ["run", "-s", "stats", "--", "--help"], { cwd: ROOT });
    expect(stdout).toMatch(/^usage: npm run stats -- \[--url URL\] \[--watch\] \[--interval DURATION\]/);
  });
});

test("a gRPC health watcher sees SERVING, then NOT_SERVING when the gateway drains", async () => {
  const gw = await startTestGateway();
  const health = createGrpcHealthClient(gw.url);
  try {
    expect(await health.check("")).toBe("SERVING");
    expect(await health.check("weaver.gateway.v1.GatewayService")).toBe("SERVING");
    const watch = health.watch("");
    expect(await watch.next()).toBe("SERVING");
    const closed = gw.close();
    expect(await watch.next()).toBe("NOT_SERVING");
    expect(await watch.ended).toBeNull();
    await closed;
  } finally {
    health.close();
  }
});

async function promtool(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile("promtool", ["check", "metrics"], (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` }),
    );
    child.stdin?.end(text);
  });
}
