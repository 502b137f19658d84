import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type * as ClientModule from "../../src/client/index.js";
import { demoTokens } from "../../src/demo/demo-text.js";
import { Listener } from "../../src/server/listener.js";
import { CONSUMER_FILES } from "../support/package-consumer.js";
import {
  installTarball,
  type PackedPackage,
  packPackage,
  publishToDist,
  REPO_ROOT,
  removeDirectories,
  stagePackage,
} from "../support/packed-package.js";
import { startTestGateway, type TestGateway } from "../support/test-gateway.js";

/** A variable, so typechecking does not need dist/; at run time the package's `exports` resolve it. */
const CLIENT_ENTRY = "weaver-gateway/client";
const TRANSPORTS = ["grpc", "connect", "grpc-web"] as const;
const run = promisify(execFile);

let gw: TestGateway;
let stage: string | undefined;
let consumer: string | undefined;
let packed: PackedPackage;
let client: typeof ClientModule;

beforeAll(async () => {
  [gw, stage, consumer] = await Promise.all([
    startTestGateway(),
    stagePackage(),
    mkdtemp(join(tmpdir(), "weaver-consumer-")),
  ]);
  packed = await packPackage(stage, consumer);
  await publishToDist(stage);
  client = (await import(CLIENT_ENTRY)) as typeof ClientModule;
}, 120_000);
afterAll(async () => {
  await gw?.close();
  await removeDirectories(stage, consumer);
});

describe("the packed package", () => {
  test("holds the compiled client with its types and the .proto files, and no sources or tests", () => {
    expect(packed.files).toEqual(
      expect.arrayContaining([
        "package.json",
        "dist/src/client/index.js",
        "dist/src/client/index.d.ts",
        "dist/gen/weaver/gateway/v1/gateway_pb.js",
        "dist/gen/weaver/gateway/v1/gateway_pb.d.ts",
        "proto/weaver/gateway/v1/gateway.proto",
      ]),
    );
    const strays = packed.files.filter(
      (path) => /\.ts$/.test(path) && !path.endsWith(".d.ts") && !path.startsWith("proto/"),
    );
    expect(strays).toEqual([]);
    expect(packed.files.filter((path) => /^(src|test|examples|gen)\//.test(path))).toEqual([]);
  });

  test("a TypeScript consumer outside the source tree typechecks against it and calls the gateway over each transport", async () => {
    const project = consumer as string;
    expect(project.startsWith(REPO_ROOT)).toBe(false);
    await installTarball(project, packed.tarball, ["@types/node"]);
    for (const [name, text] of Object.entries(CONSUMER_FILES)) await writeFile(join(project, name), text);
    await run(join(REPO_ROOT, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], { cwd: project });
    const { stdout } = await run(process.execPath, ["out/consumer.js", gw.url], { cwd: project });

    const lines = stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    const expected = demoTokens("hello from outside the tree", 8).join("");
    expect(lines.slice(0, 3)).toEqual(
      TRANSPORTS.map((transport) => ({
        transport,
        text: expected,
        streamed: expected,
        missingModel: "NotFound",
      })),
    );
    const proto = fileURLToPath(lines[3].proto);
    expect(proto).toBe(join(project, "node_modules/weaver-gateway/proto/weaver/gateway/v1/gateway.proto"));
    expect(existsSync(proto)).toBe(true);
  });
});

describe("weaver-gateway/client by the package's own name", () => {
  test("resolves through package.json exports to the compiled build", () => {
    expect(fileURLToPath(import.meta.resolve(CLIENT_ENTRY))).toBe(
      join(REPO_ROOT, "dist/src/client/index.js"),
    );
  });

  test.each(TRANSPORTS)("calls the running gateway over %s", async (transport) => {
    const gateway = client.createGatewayClient({ baseUrl: gw.url, transport });
    const messages = [{ role: "user", content: `over ${transport}` }];
    const reply = await gateway.generate({ model: "demo", messages, maxTokens: 6 });
    expect(reply.text).toBe(demoTokens(`over ${transport}`, 6).join(""));
    expect(reply.finishReason).toBe(client.FinishReason.LENGTH);

    const events = [];
    for await (const { event } of gateway.generateStream({ model: "demo", messages, maxTokens: 6 }))
      events.push(event.case);
    expect(events).toEqual(["start", ...Array(6).fill("delta"), "finish"]);

    const { models } = await gateway.listModels({});
    expect(models.map((model) => model.name)).toEqual(["demo"]);
    const stats = await gateway.poolStats({});
    expect(stats.totals?.requestsTotal).toBeGreaterThan(0n);
  });

  test.each(TRANSPORTS)(
    "sends apiKey as a bearer token and timeoutMs as the deadline over %s",
    async (transport) => {
      const echo = await startEchoServer();
      try {
        const gateway = client.createGatewayClient({
          baseUrl: echo.url,
          transport,
          apiKey: "sk-test",
          timeoutMs: 4_000,
        });
        const reply = await gateway.generate({ model: "demo", messages: [] });
        expect(reply.text).toBe("Bearer sk-test");
        expect(Number(reply.id)).toBeGreaterThan(3_000);
        expect(Number(reply.id)).toBeLessThanOrEqual(4_000);

        const bare = client.createGatewayClient({ baseUrl: echo.url, transport });
        const unbounded = await bare.generate({ model: "demo", messages: [] });
        expect(unbounded).toMatchObject({ text: "", id: "none" });
      } finally {
        await echo.close();
      }
    },
  );

  test("rejects a transport it does not know", () => {
    const options = { baseUrl: gw.url, transport: "carrier-pigeon" as "grpc" };
    expect(() => client.createGatewayClient(options)).toThrow(/unknown transport "carrier-pigeon"/);
  });
});

/** A GatewayService whose Generate answers with the caller's authorization header and deadline. */
async function startEchoServer() {
  const listener = new Listener({
    host: "127.0.0.1",
    port: 0,
    handler: connectNodeAdapter({
      routes: (router) =>
        router.service(client.GatewayService, {
          generate: (_request, context) => ({
            text: context.requestHeader.get("authorization") ?? "",
            id: String(context.timeoutMs() ?? "none"),
          }),
        }),
    }) as ConstructorParameters<typeof Listener>[0]["handler"],
  });
  const { port } = await listener.listen();
  return { url: `http://127.0.0.1:${port}`, close: () => listener.close(1_000) };
}
