import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { get as httpGet } from "node:http";
import { get as httpsGet } from "node:https";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, expect, test } from "vitest";
import { GatewayService, GenerateStreamRequestSchema } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { selfSignedCertificate } from "../../src/demo/self-signed-certificate.js";
import { type GatewayProcess, spawnGateway } from "../support/gateway-process.js";

/** A guard against a hang: spawning the gateway under tsx has taken 10 s on a loaded machine. */
const PROCESS_TEST_TIMEOUT_MS = 60_000;
const DRAIN_MS = 500;
/** The drain timeout, plus a second for the signal to land and the process to wind down. */
const EXIT_WITHIN_MS = DRAIN_MS + 1_000;
/**
 * A connection that carries no request is closed at once, so it does not hold the exit until the
 * drain deadline (measured: ~30 ms; it took the full drain timeout when such sockets were ended
 * and left for the client to close).
 */
const IDLE_EXIT_WITHIN_MS = DRAIN_MS;

const DRAIN_CONFIG = {
  server: { host: "127.0.0.1", port: 0, drain_timeout: `${DRAIN_MS}ms` },
  providers: { demo: { type: "demo" } },
  models: { demo: { deployments: [{ provider: "demo", model: "demo" }] } },
};

let gateway: GatewayProcess | undefined;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  await gateway?.dispose();
  gateway = undefined;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/**
 * A TCP connection that sends `bytes` and then nothing, and never closes its side: it stays open
 * until the gateway closes it.
 */
async function heldConnection(port: number, bytes = ""): Promise<Socket> {
  const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  socket.on("error", () => {});
  cleanups.push(() => socket.destroy());
  await new Promise((resolve) => socket.once("connect", resolve));
  if (bytes !== "") socket.write(bytes);
  return socket;
}

/**
 * Answers once a new connection's GET /healthz is served. Connections are accepted in order, so
 * every connection opened before this one is in the gateway's hands by then, not in the backlog.
 */
async function healthzServed(url: string, ca?: string): Promise<void> {
  const status = await new Promise<number | undefined>((resolve, reject) => {
    const onResponse = (response: { statusCode?: number; resume(): void }) => {
      response.resume();
      resolve(response.statusCode);
    };
    const request =
      ca === undefined
        ? httpGet(`${url}/healthz`, { agent: false }, onResponse)
        : httpsGet(`${url}/healthz`, { agent: false, ca }, onResponse);
    request.on("error", reject);
  });
  expect(status).toBe(200);
}

/** Sends SIGTERM and measures how long the gateway takes to exit, giving up after a few seconds. */
async function sigtermToExit(running: GatewayProcess) {
  const sent = performance.now();
  running.child.kill("SIGTERM");
  const gaveUp = new Promise<string>((resolve) =>
    setTimeout(resolve, 5 * EXIT_WITHIN_MS, "still running").unref(),
  );
  const exit = await Promise.race([running.exited, gaveUp]);
  return { exit, elapsedMs: performance.now() - sent };
}

function expectPromptCleanExit(
  running: GatewayProcess,
  outcome: Awaited<ReturnType<typeof sigtermToExit>>,
  withinMs = IDLE_EXIT_WITHIN_MS,
) {
  const report = `stderr: ${running.stderr()}, logs: ${JSON.stringify(running.logs)}`;
  expect(outcome.exit, report).toEqual({ code: 0, signal: null });
  expect(outcome.elapsedMs, report).toBeLessThan(withinMs);
  expect(running.logs.map((line) => line.msg)).toEqual(expect.arrayContaining(["draining", "stopped"]));
}

const HALF_SAID = [
  // Still being sniffed: neither HTTP/1.1 nor HTTP/2 yet.
  { sent: "nothing yet", bytes: "" },
  // Told apart from the HTTP/2 preface at its second byte: an HTTP/1.1 request not yet parsed.
  { sent: "3 bytes of a request", bytes: "POS" },
  // May begin the HTTP/2 preface, so the sniffer still waits for more.
  { sent: "3 bytes of the HTTP/2 preface", bytes: "PRI" },
];

test.for(HALF_SAID)(
  "SIGTERM with a connection that has sent $sent: it exits 0 before the drain deadline",
  {
    timeout: PROCESS_TEST_TIMEOUT_MS,
  },
  async ({ bytes }) => {
    gateway = await spawnGateway(DRAIN_CONFIG);
    await heldConnection(gateway.port, bytes);
    await healthzServed(gateway.url);
    expectPromptCleanExit(gateway, await sigtermToExit(gateway));
  },
);

test("SIGTERM with an idle keep-alive HTTP/1.1 connection: it exits 0 before the drain deadline", {
  timeout: PROCESS_TEST_TIMEOUT_MS,
}, async () => {
  gateway = await spawnGateway(DRAIN_CONFIG);
  const socket = await heldConnection(gateway.port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  let answer = "";
  await new Promise<void>((resolve) => {
    socket.setEncoding("utf8").on("data", (chunk: string) => {
      answer += chunk;
      if (answer.includes("\r\n\r\n")) resolve();
    });
  });
  expect(answer).toMatch(/^HTTP\/1\.1 200 /);
  expect(answer.toLowerCase()).toContain("connection: keep-alive");
  expectPromptCleanExit(gateway, await sigtermToExit(gateway));
});

/** The gateway's server section with TLS on, from a fresh self-signed certificate (the client's CA). */
async function tlsServer(server: Record<string, unknown>) {
  const { cert, key } = await selfSignedCertificate();
  const certDir = await mkdtemp(join(tmpdir(), "weaver-tls-"));
  cleanups.push(() => rm(certDir, { recursive: true, force: true }));
  const cert_file = join(certDir, "cert.pem");
  const key_file = join(certDir, "key.pem");
  await writeFile(cert_file, cert);
  await writeFile(key_file, key, { mode: 0o600 });
  return { server: { ...server, tls: { cert_file, key_file } }, ca: cert };
}

/** One GenerateStream of `tokens` tokens; `started` settles on its start event (or its end). */
function generateStream(url: string, tokens: number, ca?: string) {
  const transport = createGrpcTransport({ baseUrl: url, nodeOptions: ca === undefined ? {} : { ca } });
  const request = create(GenerateStreamRequestSchema, {
    model: "demo",
    messages: [{ role: "user", content: "a long story" }],
    maxTokens: tokens,
  });
  let onStart = () => {};
  const started = new Promise<void>((resolve) => {
    onStart = resolve;
  });
  const ended = (async () => {
    let outputTokens = 0;
    for await (const message of createClient(GatewayService, transport).generateStream(request)) {
      if (message.event.case === "start") onStart();
      if (message.event.case === "finish") outputTokens = message.event.value.usage?.outputTokens ?? 0;
    }
    return outputTokens;
  })().then(
    (outputTokens) => ({ finished: outputTokens }),
    () => "cut" as const,
  );
  return { started: Promise.race([started, ended]), ended };
}

test("SIGTERM over TLS with a connection that never starts its handshake: it exits 0 before the drain deadline", {
  timeout: PROCESS_TEST_TIMEOUT_MS,
}, async () => {
  const { server, ca } = await tlsServer(DRAIN_CONFIG.server);
  gateway = await spawnGateway({ ...DRAIN_CONFIG, server });
  expect(gateway.url).toMatch(/^https:/);

  await heldConnection(gateway.port);
  await healthzServed(gateway.url, ca);
  expectPromptCleanExit(gateway, await sigtermToExit(gateway));
});

test("SIGTERM over TLS: a handshake never started is closed, a stream in flight still finishes in full", {
  timeout: PROCESS_TEST_TIMEOUT_MS,
}, async () => {
  // Only the sockets that carry no request go at once; the one below a stream is left to drain.
  const { server, ca } = await tlsServer({ ...DRAIN_CONFIG.server, drain_timeout: "20s" });
  gateway = await spawnGateway({
    ...DRAIN_CONFIG,
    server,
    providers: { demo: { type: "demo", inter_token_delay: "20ms" } },
  });
  // 40 tokens at 20 ms each: SIGTERM lands mid-stream.
  const stream = generateStream(gateway.url, 40, ca);
  await stream.started;
  await heldConnection(gateway.port);
  await healthzServed(gateway.url, ca);
  // The stream's last 0.8 s at most, not the 20 s drain timeout, with room for a loaded machine.
  expectPromptCleanExit(gateway, await sigtermToExit(gateway), 4_000);
  expect(await stream.ended).toEqual({ finished: 40 });
});

test("SIGTERM with a stream that outlasts the drain timeout: the stream is cut and it exits 0 in time", {
  timeout: PROCESS_TEST_TIMEOUT_MS,
}, async () => {
  gateway = await spawnGateway({
    ...DRAIN_CONFIG,
    providers: { demo: { type: "demo", inter_token_delay: "20ms" } },
  });
  // 200 tokens at 20 ms each: four seconds, far past the drain timeout.
  const stream = generateStream(gateway.url, 200);
  await stream.started;
  expectPromptCleanExit(gateway, await sigtermToExit(gateway), EXIT_WITHIN_MS);
  expect(await stream.ended).toBe("cut");
});
