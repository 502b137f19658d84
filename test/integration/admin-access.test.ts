import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { GatewayService } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { keyHash, newCallerKey } from "../../src/access/caller-keys.js";
import { errorOf } from "../support/error-of.js";
import { startTestGateway, type TestGateway } from "../support/test-gateway.js";

// server.protect_admin: what tells an operator about the gateway needs a key with the admin role;
// the probes stay open, and callers' own calls need only their key.
const KEYS = { ops: newCallerKey(), app: newCallerKey() };
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const execFileAsync = promisify(execFile);
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    server: { protect_admin: true },
    keys: [
      { name: "ops", sha256: keyHash(KEYS.ops), roles: ["admin"] },
      { name: "app", sha256: keyHash(KEYS.app) },
    ],
  });
});
afterAll(async () => {
  await gw?.close();
});

it("PoolStats and ListModels need an admin key: none is UNAUTHENTICATED, another key PERMISSION_DENIED", async () => {
  const client = createClient(GatewayService, createGrpcTransport({ baseUrl: gw.url }));
  expect((await errorOf(client.poolStats({}))).code).toBe(Code.Unauthenticated);
  expect((await errorOf(client.listModels({}, { headers: bearer(KEYS.app) }))).code).toBe(
    Code.PermissionDenied,
  );
  const models = await client.listModels({}, { headers: bearer(KEYS.ops) });
  expect(models.models.map((model) => model.name)).toContain("demo");
  // The caller's own calls need its key only.
  const reply = await client.generate(
    { model: "demo", messages: [{ role: "user", content: "hi" }] },
    { headers: bearer(KEYS.app) },
  );
  expect(reply.text.length).toBeGreaterThan(0);
});

it("/metrics and /v1/models answer 401 without a key, 403 to a key without the role, 200 to an admin; the probes stay open", async () => {
  for (const path of ["/metrics", "/v1/models"]) {
    expect((await fetch(`${gw.url}${path}`)).status).toBe(401);
    expect((await fetch(`${gw.url}${path}`, { headers: bearer(KEYS.app) })).status).toBe(403);
    expect((await fetch(`${gw.url}${path}`, { headers: bearer(KEYS.ops) })).status).toBe(200);
  }
  for (const path of ["/healthz", "/readyz"]) expect((await fetch(`${gw.url}${path}`)).status).toBe(200);
});

it("gRPC health answers an admin key only", async () => {
  const response = await fetch(`${gw.url}/grpc.health.v1.Health/Check`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  expect(response.status).toBe(401);
  const admin = await fetch(`${gw.url}/grpc.health.v1.Health/Check`, {
    method: "POST",
    headers: { "content-type": "application/json", ...bearer(KEYS.ops) },
    body: "{}",
  });
  expect(await admin.json()).toEqual({ status: "SERVING" });
});

it("reflection (buf curl --list-services) answers an admin key only", async () => {
  const bufCurl = (...args: string[]) =>
    execFileAsync(
      "node_modules/.bin/buf",
      ["curl", "--http2-prior-knowledge", "--list-services", ...args, gw.url],
      {
        cwd: ROOT,
      },
    );
  const refused = await bufCurl().then(
    () => "",
    (error: { stderr: string }) => error.stderr,
  );
  expect(refused).toMatch(/not authenticated/i);
  const { stdout } = await bufCurl("--reflect-header", `authorization: Bearer ${KEYS.ops}`);
  expect(stdout).toContain("weaver.gateway.v1.GatewayService");
});

it("a gateway without keys says so in one warning at start, and serves calls without a key", async () => {
  const open = await startTestGateway();
  try {
    const warnings = open.logs.filter((line) => line.level === "warn");
    expect(warnings.map((line) => line.msg)).toContain(
      "no caller keys are configured: anyone who reaches the port may call (see keys in the README)",
    );
    const client = createClient(GatewayService, createGrpcTransport({ baseUrl: open.url }));
    const reply = await client.generate({ model: "demo", messages: [{ role: "user", content: "hi" }] });
    expect(reply.usage?.costUsd).toBe(0);
    const { rows } = await client.getUsage({});
    expect(rows).toMatchObject([{ key: "", model: "demo", requests: 1n, unpricedRequests: 1n }]);
  } finally {
    await open.close();
  }
});
