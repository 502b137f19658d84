import { writeFileSync } from "node:fs";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, test } from "vitest";
import { stringify as toYaml } from "yaml";
import { GatewayService, type PoolStatsResponse } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { startFakeOpenAI } from "../support/fakes/index.js";
import { type GatewayProcess, type LogLine, spawnGateway } from "../support/gateway-process.js";
import { createGrpcJsGatewayClient } from "../support/grpc-js-client.js";

// A reload swaps routes, models, keys and limits under load without failing a call, keeps the pools
// of unchanged origins (not one new handshake) and drains those of dropped ones. The real gateway
// process, reloaded by a real SIGHUP or a real file change, called by grpc-js and Connect clients.

let gateway: GatewayProcess | undefined;
afterEach(async () => {
  await gateway?.dispose();
  gateway = undefined;
});

const SERVER = { host: "127.0.0.1", port: 0, drain_timeout: "5s" };
/** One connection at most: a kept pool can only show it by never making a second. */
const DEMO = { type: "demo", inter_token_delay: "2ms", pool: { max_connections: 1 } };
/** Config A: "chat" and "old-model", the latter served by a provider config B drops. */
const CONFIG_A = {
  server: SERVER,
  providers: { demo: DEMO, old: { type: "demo", inter_token_delay: "20ms" } },
  models: {
    chat: { deployments: [{ provider: "demo", model: "demo" }] },
    "old-model": { deployments: [{ provider: "old", model: "demo" }] },
  },
};
/** Config B: "chat" kept (with an alias), "old" dropped, "fresh" added, other limits. */
const CONFIG_B = {
  server: { ...SERVER, max_in_flight: 500, max_request_bytes: 2 * 1024 * 1024 },
  router: { max_attempts: 2 },
  providers: { demo: DEMO, fresh: { type: "demo" } },
  models: {
    chat: { aliases: ["chat-alias"], deployments: [{ provider: "demo", model: "demo" }] },
    "fresh-model": { deployments: [{ provider: "fresh", model: "demo" }] },
  },
};

const messages = [{ role: "user", content: "hello" }];

function clients(url: string) {
  return {
    grpcJs: createGrpcJsGatewayClient(url),
    grpc: createClient(GatewayService, createGrpcTransport({ baseUrl: url })),
    connect: createClient(GatewayService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" })),
  };
}

const rewrite = (process: GatewayProcess, config: unknown) =>
  writeFileSync(process.configFile, toYaml(config));

/** Rewrites the gateway's file, signals it, and waits for the reload's log line (the nth, counting from 1). */
async function reload(process: GatewayProcess, config: unknown, nth: number): Promise<LogLine> {
  rewrite(process, config);
  process.child.kill("SIGHUP");
  return waitForNth(process, (line) => line.msg === "config reloaded", nth);
}

async function waitForNth(process: GatewayProcess, matches: (line: LogLine) => boolean, nth: number) {
  return process
    .waitForLog(() => process.logs.filter(matches).length >= nth)
    .then(() => process.logs.filter(matches)[nth - 1] as LogLine);
}

/** A stream whose first token has arrived; `rest` reads it to its end. */
async function startedStream(client: ReturnType<typeof clients>["grpc"], model: string, maxTokens: number) {
  const events = client.generateStream({ model, messages, maxTokens })[Symbol.asyncIterator]();
  let tokens = 0;
  let finish: number | undefined;
  const read = async (): Promise<boolean> => {
    const { done, value } = await events.next();
    if (done) return false;
    if (value.event.case === "delta") tokens++;
    if (value.event.case === "finish") finish = value.event.value.usage?.outputTokens;
    return true;
  };
  while (tokens === 0 && (await read()));
  const rest = (async () => {
    while (await read());
    return { tokens, finish };
  })();
  return { rest };
}

const originOf = (stats: PoolStatsResponse, port: string) =>
  stats.origins.find((origin) => new URL(origin.origin).port === port);

const codeOf = (error: unknown) => ConnectError.from(error).code;

describe("SIGHUP", () => {
  test("three reloads under load fail no call, keep the unchanged pool's one connection, and drain the dropped provider's streams", async () => {
    gateway = await spawnGateway(CONFIG_A);
    const { grpcJs, grpc, connect } = clients(gateway.url);
    const before = await grpc.poolStats({});
    expect(before.origins).toHaveLength(2);

    // Long streams on the provider the first reload drops: they started before it, so they end whole.
    const longStreams = await Promise.all(
      Array.from({ length: 4 }, () => startedStream(grpc, "old-model", 40)),
    );
    let loading = true;
    const failures: unknown[] = [];
    let calls = 0;
    const worker = async (i: number) => {
      while (loading) {
        try {
          if (i % 3 === 0) {
            const reply = await grpcJs.unary("generate", { model: "chat", messages, maxTokens: 4 });
            expect(String(reply.text).length).toBeGreaterThan(0);
          } else if (i % 3 === 1) {
            const events = await grpcJs.serverStream("generateStream", {
              model: "chat",
              messages,
              maxTokens: 8,
            });
            expect(events.at(-1)).toHaveProperty("finish");
          } else {
            let text = "";
            for await (const { event } of connect.generateStream({ model: "chat", messages, maxTokens: 8 }))
              if (event.case === "delta") text += event.value.text;
            expect(text.length).toBeGreaterThan(0);
          }
          calls++;
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const workers = Array.from({ length: 9 }, (_, i) => worker(i));

    const first = await reload(gateway, CONFIG_B, 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = await reload(gateway, CONFIG_A, 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const third = await reload(gateway, CONFIG_B, 3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    loading = false;
    await Promise.all(workers);
    const drained = await Promise.all(longStreams.map((stream) => stream.rest));

    expect(failures).toEqual([]);
    expect(calls).toBeGreaterThan(50);
    // 40 tokens 20 ms apart: each was in flight across the first reload, and none was cut short.
    for (const { tokens, finish } of drained) expect({ tokens, finish }).toEqual({ tokens: 40, finish: 40 });
    for (const line of [first, second, third])
      expect(line).toMatchObject({ trigger: "SIGHUP", poolsKept: 1 });
    expect(first).toMatchObject({ models: "chat, fresh-model", poolsDrained: [expect.any(String)] });
    expect(second).toMatchObject({ models: "chat, old-model" });

    const demoPort = new URL(before.origins[0]?.origin ?? "").port;
    const after = await grpc.poolStats({});
    // The demo provider's pool lived through all three reloads on the connection it opened first.
    expect(originOf(after, demoPort)?.counters?.connectionsCreatedTotal).toBe(1n);
    expect(originOf(after, demoPort)?.counters?.requestsTotal).toBeGreaterThan(BigInt(calls));
    // Served now: config B's models; the dropped provider's origin is gone once drained.
    const models = (await grpc.listModels({})).models.map((model) => model.name);
    expect(models).toEqual(["chat", "fresh-model"]);
    expect((await grpc.generate({ model: "chat-alias", messages })).text.length).toBeGreaterThan(0);
    expect((await grpc.generate({ model: "fresh-model", messages })).text.length).toBeGreaterThan(0);
    expect(await grpc.generate({ model: "old-model", messages }).catch(codeOf)).toBe(Code.NotFound);
    await expect.poll(async () => (await grpc.poolStats({})).origins.length).toBe(2);
    // Each reload dropped one origin, and each was closed once the calls that began before it ended.
    const closing = (line: LogLine) => String(line.msg).startsWith("the origins the reload dropped");
    await waitForNth(gateway, closing, 3);
    const closedOrigins = gateway.logs.filter(closing).map((line) => line.origins);
    expect(closedOrigins).toContainEqual(first.poolsDrained);
    expect(closedOrigins).toContainEqual(third.poolsDrained);
    grpcJs.close();
  }, 60_000);

  test("a config with mistakes is refused, each one logged by its path, and the running config goes on serving", async () => {
    gateway = await spawnGateway(CONFIG_A);
    const { grpc } = clients(gateway.url);
    rewrite(gateway, {
      ...CONFIG_A,
      server: { ...SERVER, max_in_flight: -1 },
      providers: {
        ...CONFIG_A.providers,
        keyed: { type: "openai", api_key_env: "WEAVER_RELOAD_TEST_UNSET" },
      },
      models: { ...CONFIG_A.models, broken: { deployments: [{ provider: "nope", model: "x" }] } },
    });
    gateway.child.kill("SIGHUP");
    const refused = await gateway.waitForLog((line) => String(line.msg).startsWith("config reload refused"));
    expect(refused).toMatchObject({ level: "error", trigger: "SIGHUP" });
    expect(refused.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^server\.max_in_flight: /),
        expect.stringMatching(/^models\.broken\.deployments\[0\]\.provider: unknown provider "nope"/),
        expect.stringMatching(
          /^providers\.keyed\.api_key_env: the environment variable WEAVER_RELOAD_TEST_UNSET/,
        ),
      ]),
    );
    expect((await grpc.listModels({})).models.map((model) => model.name)).toEqual(["chat", "old-model"]);
    expect((await grpc.generate({ model: "old-model", messages })).text.length).toBeGreaterThan(0);
    expect(gateway.child.exitCode).toBeNull();
  }, 30_000);

  test("a change to a listener setting is applied to the rest and named as waiting for a restart", async () => {
    gateway = await spawnGateway(CONFIG_A);
    const reloaded = await reload(
      gateway,
      { ...CONFIG_A, server: { ...SERVER, connections: { max: 50 } } },
      1,
    );
    expect(reloaded).toMatchObject({ poolsKept: 2, poolsOpened: [], poolsDrained: [] });
    const warning = await gateway.waitForLog((line) => line.level === "warn" && line.trigger === "SIGHUP");
    expect(warning).toMatchObject({ settings: ["server.connections"] });
    expect(String(warning.msg)).toMatch(/server\.connections: the running values stay until a restart/);
  }, 30_000);
});

test("a reload that names another key variable sends the new key from the next call on, over the connection already open", async () => {
  const fake = await startFakeOpenAI({ apiKey: "sk-reload-new", cleartext: true });
  process.env.WEAVER_RELOAD_OLD_KEY = "sk-reload-old";
  process.env.WEAVER_RELOAD_NEW_KEY = "sk-reload-new";
  const keyed = (variable: string) => ({
    server: SERVER,
    providers: { vllm: { type: "openai", base_url: `${fake.origin}/v1`, api_key_env: variable } },
    models: { chat: { deployments: [{ provider: "vllm", model: "m" }] } },
  });
  try {
    gateway = await spawnGateway(keyed("WEAVER_RELOAD_OLD_KEY"));
    const { grpc } = clients(gateway.url);
    expect(await grpc.generate({ model: "chat", messages }).catch(codeOf)).toBe(Code.Unauthenticated);
    const connections = fake.connections;
    await reload(gateway, keyed("WEAVER_RELOAD_NEW_KEY"), 1);
    expect((await grpc.generate({ model: "chat", messages })).text.length).toBeGreaterThan(0);
    expect(fake.requests.map((request) => request.headers.authorization)).toEqual(
      expect.arrayContaining(["Bearer sk-reload-old", "Bearer sk-reload-new"]),
    );
    expect(fake.connections).toBe(connections);
  } finally {
    delete process.env.WEAVER_RELOAD_OLD_KEY;
    delete process.env.WEAVER_RELOAD_NEW_KEY;
    await fake.close();
  }
}, 30_000);

describe("server.watch_config", () => {
  test("a saved file is reloaded without a signal: new models route, and a new limit holds", async () => {
    const watched = { ...CONFIG_A, server: { ...SERVER, watch_config: true } };
    gateway = await spawnGateway(watched);
    const { grpc } = clients(gateway.url);
    rewrite(gateway, {
      ...watched,
      server: { ...watched.server, max_in_flight: 1 },
      models: CONFIG_B.models,
      providers: CONFIG_B.providers,
    });
    const reloaded = await gateway.waitForLog((line) => line.msg === "config reloaded");
    expect(reloaded).toMatchObject({ trigger: "file changed", models: "chat, fresh-model" });
    expect((await grpc.generate({ model: "fresh-model", messages })).text.length).toBeGreaterThan(0);

    // max_in_flight is now 1: a second call while one streams is refused at once.
    const slow = grpc.generateStream({ model: "chat", messages, maxTokens: 200 })[Symbol.asyncIterator]();
    await slow.next();
    expect(await grpc.generate({ model: "chat", messages }).catch(codeOf)).toBe(Code.ResourceExhausted);
    await slow.return?.();
  }, 30_000);
});
