import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import { buildConnector, Client } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selfSignedCertificate } from "../../src/demo/self-signed-certificate.js";
import { OriginCounters } from "../../src/upstream/origin-counters.js";
import {
  awaitConnectionFacts,
  type ConnectionFacts,
  isIdle,
  REQUEST_TAG_HEADER,
  trackSocket,
} from "../../src/upstream/socket-ledger.js";

type Response = ServerResponse | Http2ServerResponse;

/** A TLS server (ALPN h2 and http/1.1): "/" answers at once, "/hold" waits for `answerHeld`, "/break" drops the socket. */
let origin = "";
let ca = "";
let server: ReturnType<typeof createSecureServer>;
const held: Response[] = [];

beforeAll(async () => {
  const { cert, key } = await selfSignedCertificate();
  ca = cert;
  server = createSecureServer({ cert, key, allowHTTP1: true, ALPNProtocols: ["h2", "http/1.1"] });
  server.on("request", (req: IncomingMessage | Http2ServerRequest, res: Response) => {
    req.resume();
    if (req.url === "/hold") held.push(res);
    else if (req.url === "/break") req.socket.destroy();
    else res.end("ok");
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function answerHeld(): void {
  for (const res of held.splice(0)) res.end("ok");
}

/** An undici client whose sockets enter the ledger, as UpstreamPools' connector does. */
function trackedClient(protocol: "h2" | "http/1.1") {
  const counters = new OriginCounters(origin, true);
  const sockets: Socket[] = [];
  let idleCalls = 0;
  const connect = buildConnector({ ca, allowH2: protocol === "h2" });
  const client = new Client(origin, {
    allowH2: protocol === "h2",
    connect: (options, callback) =>
      connect(options, (error, socket) => {
        if (error !== null) return callback(error, null);
        counters.recordConnect(0, protocol, false);
        sockets.push(socket as Socket);
        trackSocket(socket as Socket, counters, protocol, () => idleCalls++);
        callback(null, socket);
      }),
  });
  return { client, counters, sockets, idleCalls: () => idleCalls };
}

let tags = 0;
/** Sends a tagged GET; resolves with the connection facts the ledger reported and the body. */
async function tagged(client: Client, path = "/") {
  const tag = `ledger-test-${tags++}`;
  let facts: ConnectionFacts | undefined;
  const forget = awaitConnectionFacts(tag, (f) => {
    facts = f;
  });
  try {
    const response = await client.request({ method: "GET", path, headers: { [REQUEST_TAG_HEADER]: tag } });
    return { facts, text: await response.body.text() };
  } finally {
    forget();
  }
}

describe.each(["http/1.1", "h2"] as const)("the socket ledger over %s", (protocol) => {
  it("tells each request its socket's protocol and whether the socket had carried one before", async () => {
    const { client, counters } = trackedClient(protocol);
    const first = await tagged(client);
    const second = await tagged(client);
    expect(first).toEqual({ facts: { protocol, reused: false }, text: "ok" });
    expect(second.facts).toEqual({ protocol, reused: true });
    expect(counters).toMatchObject({ requestsTotal: 2, requestsOnReusedConnections: 1, inFlight: 0 });
    await client.close();
  });

  it("counts a request in flight until its response ends, then calls the socket idle", async () => {
    const { client, counters, sockets, idleCalls } = trackedClient(protocol);
    await tagged(client); // connected
    const socket = sockets[0] as Socket;
    const idleBefore = idleCalls();
    const waiting = tagged(client, "/hold");
    while (held.length === 0) await once(server, "request");
    expect(counters).toMatchObject({ inFlight: 1, busyConnections: 1, activeConnections: 1 });
    expect(isIdle(socket)).toBe(false);
    answerHeld();
    await waiting;
    expect(counters).toMatchObject({ inFlight: 0, busyConnections: 0 });
    expect(isIdle(socket)).toBe(true);
    expect(idleCalls()).toBe(idleBefore + 1);
    await client.close();
    expect(counters.activeConnections).toBe(0);
    expect(isIdle(socket)).toBe(false);
  });

  it("settles a request whose socket broke mid-way: nothing left in flight or busy", async () => {
    const { client, counters } = trackedClient(protocol);
    await tagged(client);
    await expect(tagged(client, "/break")).rejects.toThrow();
    expect(counters).toMatchObject({ requestsTotal: 2, inFlight: 0, busyConnections: 0 });
    await client.close();
  });
});

describe("the socket ledger", () => {
  it("ignores the sockets of every other undici user", async () => {
    const ours = trackedClient("h2");
    const theirs = new Client(origin, { connect: { ca } });
    const tag = "not-ours";
    const reported: ConnectionFacts[] = [];
    const forget = awaitConnectionFacts(tag, (f) => reported.push(f));
    const response = await theirs.request({
      method: "GET",
      path: "/",
      headers: { [REQUEST_TAG_HEADER]: tag },
    });
    await response.body.text();
    forget();
    expect(reported).toEqual([]);
    expect(ours.counters).toMatchObject({ requestsTotal: 0, inFlight: 0 });
    await Promise.all([theirs.close(), ours.client.close()]);
  });

  it("reports nothing to a caller that stopped waiting", async () => {
    const { client } = trackedClient("http/1.1");
    const reported: ConnectionFacts[] = [];
    const forget = awaitConnectionFacts("forgotten", (f) => reported.push(f));
    forget();
    const response = await client.request({
      method: "GET",
      path: "/",
      headers: { [REQUEST_TAG_HEADER]: "forgotten" },
    });
    await response.body.text();
    expect(reported).toEqual([]);
    await client.close();
  });
});
