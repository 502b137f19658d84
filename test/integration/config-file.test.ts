import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, expect, test } from "vitest";
import { GatewayService } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { type GatewayProcess, spawnGateway } from "../support/gateway-process.js";

// A config file adds to the built-in default, as a new user expects: the process started on a file
// that holds only the README's CORS snippet still serves the demo model.
let gateway: GatewayProcess | undefined;
afterEach(async () => {
  await gateway?.dispose();
  gateway = undefined;
});

const generate = (url: string) =>
  createClient(GatewayService, createGrpcTransport({ baseUrl: url })).generate({
    model: "demo",
    messages: [{ role: "user", content: "hello" }],
  });

test("a file holding only server settings serves the demo model; the start-up line names the file, metrics and health", async () => {
  gateway = await spawnGateway({
    server: { host: "127.0.0.1", port: 0, cors: { allowed_origins: ["http://localhost:5173"] } },
  });
  const listening = gateway.logs.find((line) => typeof line.url === "string");
  expect(listening).toMatchObject({
    models: "demo",
    metrics: `${gateway.url}/metrics`,
    health: `${gateway.url}/readyz`,
  });
  expect(String(listening?.config)).toMatch(/gateway\.yaml$/);
  const answer = await generate(gateway.url);
  expect(answer.text.length).toBeGreaterThan(0);
});

test("models: {} serves no model, says so in one line at start, and calls are NOT_FOUND", async () => {
  gateway = await spawnGateway({ server: { host: "127.0.0.1", port: 0 }, models: {} });
  const warning = await gateway.waitForLog(
    (line) => line.level === "warn" && String(line.msg).startsWith("no model is configured"),
  );
  expect(String(warning.msg)).toMatch(/^no model is configured: .*gateway\.yaml has an empty models section/);
  expect(gateway.logs.filter((line) => String(line.msg).startsWith("no model"))).toHaveLength(1);
  const error = await generate(gateway.url).then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  expect(error?.code).toBe(Code.NotFound);
});
