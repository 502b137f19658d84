import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { connect as http2Connect } from "node:http2";
import { connect as netConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { afterEach, describe, expect, test } from "vitest";
import { selfSignedCertificate } from "../../src/demo/self-signed-certificate.js";
import { startTestGateway, type TestGateway } from "../support/test-gateway.js";

/** Short bounds, so the tests see them fire; the defaults are minutes and seconds. */
const LIMITS = {
  idle_timeout: "400ms",
  headers_timeout: "400ms",
  request_timeout: "800ms",
  max_concurrent_streams: 7,
  max_header_bytes: 4096,
};

let gateway: TestGateway | undefined;
const sockets: Socket[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await gateway?.close();
  gateway = undefined;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function start(connections: Record<string, unknown> = {}, server: Record<string, unknown> = {}) {
  gateway = await startTestGateway({ server: { connections: { ...LIMITS, ...connections }, ...server } });
  return gateway;
}

/** A self-signed certificate and key in files, as `server.tls` names them. */
async function tlsFiles(): Promise<{ cert: string; tls: { cert_file: string; key_file: string } }> {
  const { cert, key } = await selfSignedCertificate();
  const dir = await mkdtemp(join(tmpdir(), "limits-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const tls = { cert_file: join(dir, "cert.pem"), key_file: join(dir, "key.pem") };
  await writeFile(tls.cert_file, cert);
  await writeFile(tls.key_file, key);
  return { cert, tls };
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** A raw connection that sends `bytes` (maybe none) and then nothing; resolves when the gateway closes it. */
async function heldOpen(port: number, bytes: string): Promise<{ socket: Socket; closed: Promise<number> }> {
  const socket = netConnect({ host: "127.0.0.1", port });
  sockets.push(socket);
  socket.on("error", () => {});
  socket.resume();
  await once(socket, "connect");
  const openedAt = performance.now();
  if (bytes) socket.write(bytes);
  const closed = once(socket, "close").then(() => performance.now() - openedAt);
  return { socket, closed };
}

describe("per-connection limits (server.connections)", () => {
  test("a connection that says nothing is closed after headers_timeout", async () => {
    const { url } = await start();
    const { closed } = await heldOpen(portOf(url), "");
    expect(await closed).toBeGreaterThanOrEqual(350);
  });

  test("slowloris: an HTTP/1.1 request whose headers never end is closed after headers_timeout", async () => {
    const { url } = await start();
    const { socket, closed } = await heldOpen(
      portOf(url),
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n",
    );
    // One header byte every 100 ms: each arrival would reset an inactivity timer, not this one.
    const drip = setInterval(() => socket.writable && socket.write("x"), 100);
    try {
      expect(await closed).toBeLessThan(5_000);
    } finally {
      clearInterval(drip);
    }
  });

  test("slowloris over TLS: the same bound holds for HTTP/1.1 behind ALPN", async () => {
    const { cert, tls } = await tlsFiles();
    const { url } = await start({}, { tls });
    const socket = tlsConnect({
      host: "127.0.0.1",
      port: portOf(url),
      ca: cert,
      servername: "localhost",
      ALPNProtocols: ["http/1.1"],
    });
    sockets.push(socket);
    socket.on("error", () => {});
    socket.resume();
    await once(socket, "secureConnect");
    const openedAt = performance.now();
    socket.write("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n");
    const drip = setInterval(() => socket.writable && socket.write("x"), 100);
    try {
      await once(socket, "close");
      expect(performance.now() - openedAt).toBeLessThan(5_000);
    } finally {
      clearInterval(drip);
    }
  });

  test("a TLS handshake that never starts is closed after headers_timeout", async () => {
    const { tls } = await tlsFiles();
    const { url } = await start({}, { tls });
    const { closed } = await heldOpen(portOf(url), "");
    expect(await closed).toBeLessThan(5_000);
  });

  test("an idle HTTP/2 connection gets GOAWAY after idle_timeout; one with a quiet stream open keeps it", async () => {
    const { url } = await start();
    const idle = http2Connect(url);
    idle.on("error", () => {});
    const busy = http2Connect(url);
    busy.on("error", () => {});
    let busyGoaway = false;
    busy.on("goaway", () => {
      busyGoaway = true;
    });
    // A request whose body never comes: its stream stays open and silent.
    const quiet = busy.request({
      ":method": "POST",
      ":path": "/weaver.gateway.v1.GatewayService/GenerateStream",
      "content-type": "application/grpc",
    });
    quiet.on("error", () => {});
    const [code] = (await once(idle, "goaway")) as [number];
    expect(code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(busyGoaway).toBe(false);
    expect(busy.closed).toBe(false);
    idle.destroy();
    busy.destroy();
  });

  test("an HTTP/1.1 keep-alive socket is closed after idle_timeout between requests", async () => {
    const { url } = await start();
    const { socket, closed } = await heldOpen(portOf(url), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let answer = "";
    socket.on("data", (chunk) => {
      answer += chunk;
    });
    expect(await closed).toBeGreaterThanOrEqual(350);
    expect(answer).toMatch(/^HTTP\/1.1 200/);
  });

  test("a header list over max_header_bytes is refused, on HTTP/1.1 (431) and HTTP/2", async () => {
    const { url } = await start();
    const big = "x".repeat(8_000);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = httpRequest(`${url}/healthz`, { headers: { "x-big": big } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(431);
    const session = http2Connect(url);
    session.on("error", () => {});
    const stream = session.request({ ":path": "/healthz", "x-big": big });
    const outcome = await new Promise<string>((resolve) => {
      stream.on("response", (headers) => resolve(`status ${headers[":status"]}`));
      stream.on("error", (error: NodeJS.ErrnoException) => resolve(`error ${error.code}`));
      stream.on("close", () => resolve(`closed ${stream.rstCode}`));
    });
    expect(outcome).toBe("status 431");
    session.destroy();
  });

  test("a stream over max_concurrent_streams is refused, and the connection serves on", async () => {
    const { url } = await start();
    const session = http2Connect(url, { peerMaxConcurrentStreams: 100 });
    session.on("error", () => {});
    await once(session, "remoteSettings");
    expect(session.remoteSettings.maxConcurrentStreams).toBe(7);
    session.destroy();
  });

  test("connections over max are closed as they are accepted", async () => {
    const { url } = await start({ max: 3, headers_timeout: "10s" });
    const port = portOf(url);
    const held = await Promise.all([1, 2, 3].map(() => heldOpen(port, "")));
    // Accepted in order: once a fourth is closed, the first three are the gateway's.
    const fourth = await heldOpen(port, "");
    await fourth.closed;
    held[0]?.socket.destroy();
    await held[0]?.closed;
    // A slot is free again.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = httpRequest(`${url}/healthz`, { agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(200);
  });
});
