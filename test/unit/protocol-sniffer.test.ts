import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { sniffHttpVersion } from "../../src/server/protocol-sniffer.js";

const HTTP2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/** An empty SETTINGS frame: what an HTTP/2 client sends right after the preface. */
const SETTINGS_FRAME = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
const HTTP1_POST = "POST /weaver.gateway.v1.GatewayService/Generate HTTP/1.1\r\nHost: x\r\n\r\n";

interface Sniffed {
  isHttp2: boolean;
  seen: Buffer;
  /** How many bytes had been sent, one chunk at a time, when the sniffer decided. */
  decidedAtByte: number;
  /** The sniffed bytes followed by everything read after the decision, until the client ended. */
  allBytes: Buffer;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
}

/**
 * Sends `chunks` to a real server that sniffs the connection, waiting for each chunk to be
 * received before sending the next, so the sniffer sees them one by one until it decides.
 */
async function sniff(chunks: (string | Buffer)[]): Promise<Sniffed> {
  let received = 0;
  let sent = 0;
  let decision: Omit<Sniffed, "allBytes"> | undefined;
  let serverSocket: Socket | undefined;
  const server = createServer((socket) => {
    serverSocket = socket;
    socket.on("data", (chunk) => {
      received += chunk.length;
    });
    sniffHttpVersion(socket, 10_000, (isHttp2, seen) => {
      decision = { isHttp2, seen: Buffer.from(seen), decidedAtByte: sent };
    });
  });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const client = connect((server.address() as AddressInfo).port, "127.0.0.1");
  client.setNoDelay(true);
  await once(client, "connect");
  for (const chunk of chunks) {
    const bytes = Buffer.from(chunk);
    sent += bytes.length;
    client.write(bytes);
    // Once decided, the socket is paused: later chunks wait in it, unread.
    await until(() => received >= sent || decision !== undefined);
  }
  if (decision === undefined) throw new Error("the sniffer decided nothing");
  // After the decision the socket is paused: everything after the sniffed bytes must still be there.
  const socket = serverSocket as Socket;
  const rest: Buffer[] = [];
  socket.removeAllListeners("data");
  socket.on("data", (chunk: Buffer) => rest.push(chunk));
  const ended = once(socket, "end");
  socket.resume();
  client.end();
  await ended;
  return { ...decision, allBytes: Buffer.concat([decision.seen, ...rest]) };
}

const bytesOf = (text: string) => [...Buffer.from(text)].map((byte) => Buffer.from([byte]));

describe("sniffHttpVersion", () => {
  test.each([
    { name: "the HTTP/2 preface in 1-byte chunks", chunks: bytesOf(HTTP2_PREFACE), isHttp2: true, at: 24 },
    {
      name: "the HTTP/2 preface and a SETTINGS frame in one chunk",
      chunks: [Buffer.concat([Buffer.from(HTTP2_PREFACE), SETTINGS_FRAME])],
      isHttp2: true,
      at: 24 + SETTINGS_FRAME.length,
    },
    { name: "an HTTP/1.1 POST in 1-byte chunks", chunks: bytesOf(HTTP1_POST), isHttp2: false, at: 2 },
    { name: "an HTTP/1.1 POST in one chunk", chunks: [HTTP1_POST], isHttp2: false, at: HTTP1_POST.length },
    {
      name: "an HTTP/1.1 PUT in 1-byte chunks",
      chunks: bytesOf("PUT / HTTP/1.1\r\n\r\n"),
      isHttp2: false,
      at: 2,
    },
    { name: "an HTTP/1.1 GET", chunks: bytesOf("GET / HTTP/1.1\r\n\r\n"), isHttp2: false, at: 1 },
    { name: "PRI-but-not-preface", chunks: bytesOf("PRI-but-not-preface\r\n\r\n"), isHttp2: false, at: 4 },
    {
      name: "the preface with its last byte wrong",
      chunks: bytesOf(`${HTTP2_PREFACE.slice(0, -1)}X`),
      isHttp2: false,
      at: 24,
    },
  ])("$name: HTTP/2 is $isHttp2, decided after $at bytes", async ({ chunks, isHttp2, at }) => {
    const sniffed = await sniff(chunks);
    expect(sniffed.isHttp2).toBe(isHttp2);
    expect(sniffed.decidedAtByte).toBe(at);
    // The bytes seen are exactly those received so far, and nothing is lost or doubled after them.
    const sent = Buffer.concat(chunks.map((chunk) => Buffer.from(chunk)));
    expect(sniffed.seen).toEqual(sent.subarray(0, at));
    expect(sniffed.allBytes).toEqual(sent);
  });

  test("a client that ends before the bytes decide is closed without routing", async () => {
    let routed = false;
    const server = createServer((socket) => {
      sniffHttpVersion(socket, 10_000, () => {
        routed = true;
      });
    });
    servers.push(server);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const client = connect((server.address() as AddressInfo).port, "127.0.0.1");
    await once(client, "connect");
    client.end("PRI * HTTP/2.0");
    client.resume();
    await once(client, "close");
    expect(routed).toBe(false);
  });

  // Regression: while sniffing nothing listened for "error", so a client that connected and reset
  // threw ECONNRESET as an uncaught exception and killed the gateway (see also validation.test.ts).
  test("the socket has an error listener while the sniffer waits", async () => {
    let listeners = -1;
    const server = createServer((socket) => {
      sniffHttpVersion(socket, 10_000, () => {});
      listeners = socket.listenerCount("error");
      socket.destroy();
    });
    servers.push(server);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const client = connect((server.address() as AddressInfo).port, "127.0.0.1");
    client.on("error", () => {});
    await once(client, "close");
    expect(listeners).toBeGreaterThan(0);
  });
});
