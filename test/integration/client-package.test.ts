import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import * as browserEntry from "../../packages/client/src/index.browser.js";
import * as nodeEntry from "../../packages/client/src/index.js";
import { demoTokens } from "../../src/demo/demo-text.js";
import { Listener } from "../../src/server/listener.js";
import { consumerFiles } from "../support/package-consumer.js";
import {
  type InstalledPackages,
  installedPackages,
  installTarball,
  lockedDependencies,
  type PackedPackage,
  packWorkspace,
  REPO_ROOT,
  removeDirectories,
} from "../support/packed-package.js";
import { startTestGateway, type TestGateway } from "../support/test-gateway.js";

const WORKSPACE = "packages/client";
const ENTRIES = [
  { entry: "Node's", client: nodeEntry, transports: ["grpc", "connect", "grpc-web"] },
  { entry: "the browser's", client: browserEntry, transports: ["connect", "grpc-web"] },
] as const;
const run = promisify(execFile);

let gw: TestGateway;
let scratch: string | undefined;
let consumer: string | undefined;
let packed: PackedPackage;
let installed: InstalledPackages;

beforeAll(async () => {
  [gw, scratch, consumer] = await Promise.all([
    startTestGateway(),
    mkdtemp(join(tmpdir(), "weaver-pack-")),
    mkdtemp(join(tmpdir(), "weaver-consumer-")),
  ]);
  packed = await packWorkspace(WORKSPACE, scratch);
  await writeFile(
    join(consumer, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  await installTarball(consumer, packed.tarball);
  installed = await installedPackages(consumer);
  console.log(
    `@weaver-gateway/client: tarball ${size(packed.bytes)}; installed ${installed.names.length} packages, ` +
      `node_modules ${size(installed.bytes)} (${installed.names.join(", ")})`,
  );
}, 120_000);
afterAll(async () => {
  await gw?.close();
  await removeDirectories(scratch, consumer);
});

describe("the packed @weaver-gateway/client", () => {
  test("holds the compiled client, both entries with their types, and the .proto; no sources or tests", () => {
    expect(packed.files).toEqual(
      expect.arrayContaining([
        "package.json",
        "README.md",
        "dist/packages/client/src/index.js",
        "dist/packages/client/src/index.d.ts",
        "dist/packages/client/src/index.browser.js",
        "dist/packages/client/src/index.browser.d.ts",
        "dist/gen/weaver/gateway/v1/gateway_pb.js",
        "dist/gen/weaver/gateway/v1/gateway_pb.d.ts",
        "proto/weaver/gateway/v1/gateway.proto",
      ]),
    );
    const sources = packed.files.filter((path) => path.endsWith(".ts") && !path.endsWith(".d.ts"));
    expect(sources).toEqual([]);
    expect(packed.files.filter((path) => !/^(dist|proto)\/|^(package\.json|README\.md)$/.test(path))).toEqual(
      [],
    );
    expect(packed.bytes).toBeLessThan(100_000);
  });

  test("installs into an empty project with the client's dependencies and nothing of the gateway's", async () => {
    expect(consumer?.startsWith(REPO_ROOT)).toBe(false);
    expect(installed.names).toEqual(
      ["@weaver-gateway/client", ...(await lockedDependencies(WORKSPACE))].sort(),
    );
    expect(installed.names).toEqual(
      expect.arrayContaining(["@bufbuild/protobuf", "@connectrpc/connect-node", "@connectrpc/connect-web"]),
    );
    const gateway = JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const serverOnly = Object.keys(gateway.dependencies).filter((name) => !name.startsWith("@"));
    expect(serverOnly).toEqual(expect.arrayContaining(["pino", "undici", "prom-client", "zod", "yaml"]));
    expect(installed.names.filter((name) => serverOnly.includes(name))).toEqual([]);
    expect(installed.bytes).toBeLessThan(10 * 1024 * 1024);
  });

  test("a TypeScript consumer typechecks against it and calls the gateway over each transport, from Node's entry and the browser's", async () => {
    const project = consumer as string;
    const files = consumerFiles(join(REPO_ROOT, "node_modules", "@types"));
    for (const [name, text] of Object.entries(files)) await writeFile(join(project, name), text);
    await run(join(REPO_ROOT, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], { cwd: project });
    const consume = async (nodeFlags: string[], transports: string[]) => {
      const args = [...nodeFlags, "out/consumer.js", gw.url, ...transports];
      const { stdout } = await run(process.execPath, args, { cwd: project });
      return stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line));
    };
    const [inNode, inBrowser] = await Promise.all([
      consume([], ["grpc", "connect", "grpc-web"]),
      consume(["--conditions=browser"], ["connect", "grpc-web", "grpc"]),
    ]);

    const text = demoTokens("hello from outside the tree", 8).join("");
    const answered = (entry: string, transport: string) => ({
      entry,
      transport,
      text,
      streamed: text,
      missingModel: "NotFound",
    });
    expect(inNode.slice(0, 3)).toEqual([
      answered("index.js", "grpc"),
      answered("index.js", "connect"),
      answered("index.js", "grpc-web"),
    ]);
    expect(inBrowser.slice(0, 3)).toEqual([
      answered("index.browser.js", "connect"),
      answered("index.browser.js", "grpc-web"),
      { entry: "index.browser.js", transport: "grpc", error: expect.stringMatching(/cannot call over gRPC/) },
    ]);
    const proto = fileURLToPath(inNode[3].proto);
    expect(proto).toBe(
      join(project, "node_modules/@weaver-gateway/client/proto/weaver/gateway/v1/gateway.proto"),
    );
    expect(existsSync(proto)).toBe(true);
  });
});

describe.each(ENTRIES)("createGatewayClient, $entry entry", ({ client, transports }) => {
  test.each(transports)("calls the running gateway over %s", async (transport) => {
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

  test.each(transports)(
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

test("the browser's entry says a browser cannot call over gRPC, and defaults to Connect", async () => {
  expect(() => browserEntry.createGatewayClient({ baseUrl: gw.url, transport: "grpc" })).toThrow(
    'a browser cannot call over gRPC (fetch hides its trailers): use "connect" or "grpc-web"',
  );
  const before = gw.logs.length;
  await browserEntry.createGatewayClient({ baseUrl: gw.url }).listModels({});
  await nodeEntry.createGatewayClient({ baseUrl: gw.url }).listModels({});
  expect(gw.logs.slice(before).map((line) => line.protocol)).toEqual(["connect", "grpc"]);
});

function size(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} kB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** A GatewayService whose Generate answers with the caller's authorization header and deadline. */
async function startEchoServer() {
  const listener = new Listener({
    host: "127.0.0.1",
    port: 0,
    handler: connectNodeAdapter({
      routes: (router) =>
        router.service(nodeEntry.GatewayService, {
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
