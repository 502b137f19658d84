import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createSecureServer, type ServerHttp2Stream } from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Server, Socket } from "node:net";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { selfSignedCertificate } from "../../../src/demo/self-signed-certificate.js";
import { recut } from "../fakes/scenario.js";
import { type ChaosRequest, type ChaosResponse, type ChaosWire, chaosResponse } from "./chaos-body.js";
import { type Exchange, h1Exchange, h2Exchange, refusedByGoaway } from "./chaos-exchange.js";
import { type Fault, NO_FAULT } from "./fault.js";

export type { ChaosWire } from "./chaos-body.js";
export type { Fault, Payload } from "./fault.js";

/** h2: TLS with ALPN h2 only. h1: TLS with ALPN http/1.1 only. */
export type ChaosTransport = "h2" | "h1";

/** What happened to one case id, as performance.now() times (comparable within this process). */
export interface CaseTimeline {
  received: number[];
  /** HTTP 200 response headers sent. */
  answered: number[];
  /** The client abandoned a response we had not finished (RST_STREAM, or the h1 socket closed). */
  clientResets: number[];
  /** Requests that arrived after one of this case had been answered with 200: sent twice. */
  doubleSends: number;
}

export interface ChaosUpstream {
  readonly origin: string;
  /** The PEM to trust (its self-signed certificate): a provider's `ca_file`. */
  readonly ca: string;
  readonly wire: ChaosWire;
  readonly transport: ChaosTransport;
  /** Scripts how requests for this case id behave; the id is read from the request body's `model` field. */
  plan(caseId: string, fault: Fault): void;
  /** Per case: requests received, and requests answered (HTTP 200 response headers sent). */
  counts(caseId: string): { received: number; answered: number };
  timeline(caseId: string): CaseTimeline;
  /** Open TCP connections right now. */
  openConnections(): number;
  /** Open HTTP/2 streams, or HTTP/1.1 responses in flight, right now. */
  openStreams(): number;
  close(): Promise<void>;
}

/** Writes per response at most: chunk sizes grow for big bodies, so every loop stays bounded. */
const MAX_WRITES = 4_000;
/** Pings of a never-ending stream at most (~100 s at 50 ms); the gateway should give up long before. */
const MAX_FOREVER_PIECES = 2_000;

export async function startChaosUpstream(options: {
  wire: ChaosWire;
  transport: ChaosTransport;
}): Promise<ChaosUpstream> {
  const { wire, transport } = options;
  const { cert, key } = await selfSignedCertificate();
  const plans = new Map<string, Fault>();
  const timelines = new Map<string, CaseTimeline>();
  const sockets = new Set<Socket>();
  let streams = 0;
  let closing = false;

  const timelineOf = (caseId: string): CaseTimeline => {
    let timeline = timelines.get(caseId);
    if (!timeline) {
      timeline = { received: [], answered: [], clientResets: [], doubleSends: 0 };
      timelines.set(caseId, timeline);
    }
    return timeline;
  };

  // Which case a client reset belongs to is known only once the body was read.
  const caseOf = new WeakMap<Exchange, string>();
  const resetBy = (exchange: Exchange, at: number) => {
    const caseId = caseOf.get(exchange);
    if (caseId !== undefined) timelineOf(caseId).clientResets.push(at);
  };

  /** Reads the request, records it, and plays its case's fault. */
  const serve = async (body: Readable, exchange: Exchange) => {
    streams++;
    exchange.closed.addEventListener("abort", () => streams--, { once: true });
    const request = await readRequest(body, exchange.closed);
    if (!request) return exchange.closed.aborted ? undefined : exchange.reset();
    caseOf.set(exchange, request.model);
    const timeline = timelineOf(request.model);
    if (timeline.answered.length > 0) timeline.doubleSends++;
    timeline.received.push(performance.now());
    const fault = plans.get(request.model) ?? NO_FAULT;
    const response = chaosResponse(wire, request, fault.payload);
    const onAnswer = () => timeline.answered.push(performance.now());
    await play(exchange, fault, response, onAnswer);
  };

  let server: Server;
  if (transport === "h2") {
    const h2 = createSecureServer({ cert, key, ALPNProtocols: ["h2"], allowHTTP1: false });
    h2.on("sessionError", () => {});
    h2.on("session", (session) => session.on("error", () => {}));
    h2.on("stream", (stream: ServerHttp2Stream) => {
      stream.on("error", () => {});
      let exchange: Exchange | undefined;
      const onReset = (at: number) => exchange && resetBy(exchange, at);
      exchange = h2Exchange(stream, onReset);
      if (refusedByGoaway(stream)) return exchange.goaway();
      void serve(stream, exchange);
    });
    server = h2;
  } else {
    const h1 = createHttpsServer({ cert, key, ALPNProtocols: ["http/1.1"] });
    h1.keepAliveTimeout = 65_000;
    h1.on("request", (req: IncomingMessage, res: ServerResponse) => {
      req.on("error", () => {});
      res.on("error", () => {});
      let exchange: Exchange | undefined;
      const onReset = (at: number) => exchange && resetBy(exchange, at);
      exchange = h1Exchange(req, res, onReset);
      void serve(req, exchange);
    });
    server = h1;
  }
  server.on("tlsClientError", () => {});
  server.on("connection", (socket: Socket) => {
    socket.on("error", () => {});
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;

  return {
    origin: `https://127.0.0.1:${port}`,
    ca: cert,
    wire,
    transport,
    plan: (caseId, fault) => {
      plans.set(caseId, fault);
    },
    counts: (caseId) => {
      const timeline = timelines.get(caseId);
      return { received: timeline?.received.length ?? 0, answered: timeline?.answered.length ?? 0 };
    },
    timeline: (caseId) => timelineOf(caseId),
    openConnections: () => sockets.size,
    openStreams: () => streams,
    close: async () => {
      if (closing) return;
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** The request's model, stream flag and messages; undefined when it is not a JSON object with a model. */
async function readRequest(body: Readable, closed: AbortSignal): Promise<ChaosRequest | undefined> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of body) {
      chunks.push(chunk as Buffer);
      if (closed.aborted) return undefined;
    }
    const json = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Partial<ChaosRequest>;
    if (typeof json.model !== "string") return undefined;
    return { ...json, model: json.model, stream: json.stream === true, messages: json.messages };
  } catch {
    return undefined;
  }
}

/** Carries out `fault` with `response` on `exchange`. */
async function play(exchange: Exchange, fault: Fault, response: ChaosResponse, onAnswer: () => void) {
  if (fault.head === "hang") return;
  if (fault.head === "reset") return exchange.reset();
  if (fault.head === "goaway") return exchange.goaway();
  exchange.respond(response.status, response.headers);
  if (response.status === 200) onAnswer();
  const { pieces, cut } = bodyPieces(response.events, fault);
  for (const piece of pieces) {
    if (fault.gapMs > 0 && !(await pause(fault.gapMs, exchange.closed))) return;
    if (!(await exchange.write(piece))) return;
  }
  const forever = response.forever;
  if (forever && !cut) {
    for (let n = 0; n < MAX_FOREVER_PIECES; n++) {
      if (!(await pause(forever.everyMs, exchange.closed))) return;
      if (!(await exchange.write(forever.piece))) return;
    }
  }
  if (fault.tail === "end") exchange.end();
  else if (fault.tail === "reset") exchange.reset();
}

/** The body cut at `fault.cutAt` and split into `fault.chunkBytes` pieces (whole events when 0). */
function bodyPieces(events: Buffer[], fault: Fault): { pieces: Buffer[]; cut: boolean } {
  const total = events.reduce((sum, event) => sum + event.length, 0);
  const cut = fault.cutAt !== undefined && fault.cutAt < total;
  let kept = events;
  if (cut) {
    kept = [];
    let left = fault.cutAt ?? 0;
    for (const event of events) {
      if (left <= 0) break;
      kept.push(event.subarray(0, left));
      left -= event.length;
    }
  }
  if (fault.chunkBytes === 0) return { pieces: kept, cut };
  const size = Math.max(fault.chunkBytes, Math.ceil(total / MAX_WRITES));
  return { pieces: recut(kept, size), cut };
}

/** Waits `ms`; false when the exchange closed meanwhile. */
async function pause(ms: number, closed: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal: closed });
    return true;
  } catch {
    return false;
  }
}
