import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import { DEPLOYED_NODE_FLAGS } from "../../bench/processes.js";

// What the Dockerfile runs, without Docker: the compiled JavaScript on production dependencies.
const root = join(import.meta.dirname, "..", "..");
const run = promisify(execFile);
let gateway: ChildProcess | undefined;

beforeAll(async () => {
  // A clean build, as the image's (npm run build); no other test reads dist/.
  await rm(join(root, "dist"), { recursive: true, force: true });
  await run(join(root, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.build.json"], { cwd: root });
}, 120_000);
afterAll(() => {
  gateway?.kill("SIGKILL");
});

test("the compiled build imports only production dependencies", () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const allowed = new Set(Object.keys(pkg.dependencies));
  const imported = new Set<string>();
  for (const file of readdirSync(join(root, "dist"), { recursive: true, encoding: "utf8" })) {
    if (!file.endsWith(".js")) continue;
    const code = readFileSync(join(root, "dist", file), "utf8");
    for (const [, specifier] of code.matchAll(/from "([^".][^"]*)"/g)) {
      if (specifier?.startsWith("node:")) continue;
      const parts = (specifier as string).split("/");
      imported.add(parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] as string));
    }
  }
  expect(imported.size).toBeGreaterThan(3);
  expect([...imported].filter((name) => !allowed.has(name))).toEqual([]);
});

test("the image's dependency stage installs the gateway's production dependencies, and not the client package", async () => {
  // Its COPY lines and its npm ci, run from npm's cache in an empty directory.
  const stage = readFileSync(join(root, "Dockerfile"), "utf8")
    .split(/^FROM /m)
    .find((text) => text.startsWith("node:24-slim AS deps\n"));
  const copied = [...(stage ?? "").matchAll(/^COPY (.+) \S+$/gm)].flatMap(
    ([, files]) => files?.split(" ") ?? [],
  );
  const [npm = "", ...install] =
    stage
      ?.match(/^RUN (npm ci [^&\n]*)/m)?.[1]
      ?.trim()
      .split(" ") ?? [];
  expect([npm, install[0]]).toEqual(["npm", "ci"]);
  const app = await mkdtemp(join(tmpdir(), "weaver-image-deps-"));
  try {
    for (const file of copied) await cp(join(root, file), join(app, file), { recursive: true });
    await run(npm, [...install, "--prefer-offline"], { cwd: app });
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    const installed = (name: string) => existsSync(join(app, "node_modules", name, "package.json"));
    expect(Object.keys(pkg.dependencies).filter((name) => !installed(name))).toEqual([]);
    expect(["@weaver-gateway/client", "@connectrpc/connect-web", "typescript"].filter(installed)).toEqual([]);
  } finally {
    await rm(app, { recursive: true, force: true });
  }
}, 60_000);

/** The Node flags the image's CMD runs the gateway with: `CMD ["node", ...flags, "dist/src/main.js"]`. */
function imageNodeFlags(): string[] {
  const cmd = readFileSync(join(root, "Dockerfile"), "utf8").match(/^CMD (\[.*\])$/m)?.[1];
  const argv = JSON.parse(cmd ?? "[]") as string[];
  expect(argv[0]).toBe("node");
  expect(argv.at(-1)).toBe("dist/src/main.js");
  return argv.slice(1, -1);
}

test("npm start and the benches run the gateway with the image's Node flags", () => {
  const flags = imageNodeFlags();
  expect(flags).toContain("--single-threaded-gc");
  const start = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts.start as string;
  expect(start).toBe(`exec node ${flags.join(" ")} --import tsx src/main.ts`);
  expect(DEPLOYED_NODE_FLAGS).toEqual(flags);
});

test("the image's command serves the demo model on the embedded default", async () => {
  gateway = spawn(process.execPath, [...imageNodeFlags(), "dist/src/main.js"], {
    cwd: root,
    env: { ...process.env, PORT: "0", NODE_ENV: "production" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let url = "";
  for await (const line of createInterface({ input: gateway.stdout as NodeJS.ReadableStream })) {
    const entry = JSON.parse(line) as { url?: string };
    if (entry.url) {
      url = entry.url;
      break;
    }
  }
  const response = await fetch(`${url}/weaver.gateway.v1.GatewayService/Generate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "demo", messages: [{ role: "user", content: "hello" }] }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { text: string; upstream: { protocol: string } };
  expect(body.text.length).toBeGreaterThan(0);
  expect(body.upstream.protocol).toBe("h2");
  // The image's HEALTHCHECK.
  expect((await fetch(`${url}/readyz`)).status).toBe(200);
  const exited = new Promise<number | null>((resolve) => gateway?.once("exit", (code) => resolve(code)));
  gateway.kill("SIGTERM");
  expect(await exited).toBe(0);
});
