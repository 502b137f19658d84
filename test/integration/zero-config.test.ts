import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load-config.js";
import { type Gateway, startGateway } from "../../src/gateway.js";
import { createLogger } from "../../src/log/logger.js";
import {
  type FakeAnthropic,
  type FakeOpenAI,
  startFakeAnthropic,
  startFakeOpenAI,
} from "../support/fakes/index.js";
import {
  collectStream,
  errorOf,
  type GatewayClient,
  gatewayClient,
  generateRequest,
  streamRequest,
} from "../support/provider-gateway.js";

const OPENAI_KEY = "sk-test-zero-openai-0123456789";
const ANTHROPIC_KEY = "sk-ant-test-zero-0123456789";
const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DEFAULT_ANSWER = "Hello from the fake upstream.";

/** A gateway started as `main.ts` starts one with no file: loadConfig from the environment alone. */
async function startZeroConfig(env: NodeJS.ProcessEnv): Promise<{ gateway: Gateway; client: GatewayClient }> {
  const fullEnv = { PORT: "0", ...env };
  const silent = createLogger({ LOG_LEVEL: "silent" });
  const gateway = await startGateway(loadConfig({ env: fullEnv }), { logger: silent, env: fullEnv });
  return { gateway, client: gatewayClient(gateway.url) };
}

// The zero-config document has no ca_file, so in-process the fakes speak cleartext HTTP/1.1;
// trusting a private CA through NODE_EXTRA_CA_CERTS is proven on the real process below.
describe("zero-config, in process: providers from OPENAI_* and ANTHROPIC_* alone", () => {
  let openai: FakeOpenAI;
  let anthropic: FakeAnthropic;
  let gateway: Gateway;
  let client: GatewayClient;

  beforeAll(async () => {
    [openai, anthropic] = await Promise.all([
      startFakeOpenAI({ apiKey: OPENAI_KEY, cleartext: true }),
      startFakeAnthropic({ apiKey: ANTHROPIC_KEY, cleartext: true }),
    ]);
    ({ gateway, client } = await startZeroConfig({
      OPENAI_API_KEY: OPENAI_KEY,
      OPENAI_BASE_URL: `${openai.origin}/v1`,
      ANTHROPIC_API_KEY: ANTHROPIC_KEY,
      ANTHROPIC_BASE_URL: anthropic.origin,
    }));
  });
  afterAll(async () => {
    await gateway?.close();
    await Promise.all([openai?.close(), anthropic?.close()]);
  });

  it('"openai/gpt-4o-mini" reaches the OpenAI base URL as model "gpt-4o-mini", with the key', async () => {
    const res = await client.generate(generateRequest({ model: "openai/gpt-4o-mini" }));
    expect(res.text).toBe(DEFAULT_ANSWER);
    expect(res.model).toBe("openai/gpt-4o-mini");
    expect(res.upstream).toMatchObject({ provider: "openai", model: "gpt-4o-mini", origin: openai.origin });
    const request = openai.requests.at(-1);
    expect(request?.path).toBe("/v1/chat/completions");
    expect(request?.body).toMatchObject({ model: "gpt-4o-mini" });
    expect(request?.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
  });

  it('"anthropic/claude-x" reaches the Anthropic base URL as model "claude-x", with the key', async () => {
    const stream = await collectStream(client.generateStream(streamRequest({ model: "anthropic/claude-x" })));
    expect(stream.text).toBe(DEFAULT_ANSWER);
    expect(stream.finish?.upstream).toMatchObject({ provider: "anthropic", model: "claude-x" });
    const request = anthropic.requests.at(-1);
    expect(request?.path).toBe("/v1/messages");
    expect(request?.body).toMatchObject({ model: "claude-x", max_tokens: 4096, stream: true });
    expect(request?.headers).toMatchObject({ "x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01" });
  });

  it('"demo" is still served by the embedded demo upstream', async () => {
    const res = await client.generate(generateRequest({ model: "demo", maxTokens: 4 }));
    expect(res.text.length).toBeGreaterThan(0);
    expect(res.upstream?.provider).toBe("demo");
  });

  it('ListModels shows "demo", "openai/*" and "anthropic/*"', async () => {
    const { models } = await client.listModels({});
    expect(models.map((m) => m.name).sort()).toEqual(["anthropic/*", "demo", "openai/*"]);
    const openaiPattern = models.find((m) => m.name === "openai/*");
    expect(openaiPattern?.deployments[0]).toMatchObject({ provider: "openai", origin: openai.origin });
  });

  it("an unknown provider prefix is NOT_FOUND, naming what is known", async () => {
    const requestsBefore = openai.requestCount + anthropic.requestCount;
    const error = await errorOf(client.generate(generateRequest({ model: "mistral/mistral-large" })));
    expect(error.code).toBe(Code.NotFound);
    expect(error.metadata.get("weaver-error-reason")).toBe("MODEL_NOT_FOUND");
    expect(error.rawMessage).toContain("openai/<model>");
    expect(error.rawMessage).toContain("anthropic/<model>");
    expect(openai.requestCount + anthropic.requestCount).toBe(requestsBefore);
  });
});

describe("zero-config, in process, with no keys set", () => {
  it('serves only "demo": "openai/..." is NOT_FOUND', async () => {
    const { gateway, client } = await startZeroConfig({});
    try {
      const { models } = await client.listModels({});
      expect(models.map((m) => m.name)).toEqual(["demo"]);
      const error = await errorOf(client.generate(generateRequest({ model: "openai/gpt-4o-mini" })));
      expect(error.code).toBe(Code.NotFound);
    } finally {
      await gateway.close();
    }
  });
});

interface GatewayChild {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stop(): Promise<void>;
}

/** Runs `tsx src/main.ts` with no config file and only `env` besides the basics; resolves once it listens. */
async function spawnZeroConfigGateway(env: NodeJS.ProcessEnv): Promise<GatewayChild> {
  const base = { ...process.env };
  for (const name of Object.keys(base)) {
    if (/^(OPENAI_|ANTHROPIC_|WEAVER_|NODE_EXTRA_CA_CERTS$|HOST$|PORT$)/.test(name)) delete base[name];
  }
  const child = spawn(join(REPO_ROOT, "node_modules", ".bin", "tsx"), ["src/main.ts"], {
    cwd: REPO_ROOT,
    // tsx's `#!/usr/bin/env node` must find the pinned Node that runs the tests.
    env: {
      ...base,
      PATH: [dirname(process.execPath), process.env.PATH].join(delimiter),
      LOG_LEVEL: "info",
      PORT: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(child, "exit");
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM"); // the gateway drains and exits; tsx passes the signal on
    const guard = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(guard);
  };
  const url = await new Promise<string>((resolve, reject) => {
    const guard = setTimeout(
      () => reject(new Error(`no "url" log line in 30 s; stderr:\n${stderr}`)),
      30_000,
    );
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const match = /"url":"([^"]+)"/.exec(stdout);
      if (match?.[1]) {
        clearTimeout(guard);
        resolve(match[1]);
      }
    });
    void exited.then(() => reject(new Error(`the gateway exited before listening; stderr:\n${stderr}`)));
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return { child, url, stdout: () => stdout, stop };
}

describe("zero-config, as a process: a private CA trusted through NODE_EXTRA_CA_CERTS", () => {
  let fake: FakeOpenAI;
  let dir: string;
  let caFile: string;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ apiKey: OPENAI_KEY });
    dir = mkdtempSync(join(tmpdir(), "weaver-zero-config-"));
    caFile = join(dir, "fake-ca.pem");
    writeFileSync(caFile, fake.ca);
  });
  afterAll(async () => {
    await fake?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const env = () => ({ OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: `${fake.origin}/v1` });

  it('serves "openai/<model>" over TLS from the fake, with no ca_file anywhere', async () => {
    const gateway = await spawnZeroConfigGateway({ ...env(), NODE_EXTRA_CA_CERTS: caFile });
    try {
      const res = await gatewayClient(gateway.url).generate(generateRequest({ model: "openai/gpt-4o-mini" }));
      expect(res.text).toBe(DEFAULT_ANSWER);
      expect(res.upstream).toMatchObject({ provider: "openai", origin: fake.origin, protocol: "h2" });
      expect(fake.requests.at(-1)?.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    } finally {
      await gateway.stop();
    }
    expect(gateway.stdout()).not.toContain(OPENAI_KEY);
  });

  it("without NODE_EXTRA_CA_CERTS the same call fails TLS: UNAVAILABLE", async () => {
    const requestsBefore = fake.requestCount;
    const gateway = await spawnZeroConfigGateway(env());
    try {
      const error = await errorOf(
        gatewayClient(gateway.url).generate(generateRequest({ model: "openai/gpt-4o-mini" })),
      );
      expect(error.code).toBe(Code.Unavailable);
      expect(error.metadata.get("weaver-error-reason")).toBe("UPSTREAM_TLS");
    } finally {
      await gateway.stop();
    }
    expect(fake.requestCount).toBe(requestsBefore);
  });
});
