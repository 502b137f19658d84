import { once } from "node:events";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { createSecureServer, type ServerHttp2Stream } from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Server, Socket } from "node:net";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { selfSignedCertificate } from "../../../src/demo/self-signed-certificate.js";
import { recut } from "../fakes/scenario.js";
import {
  type ChaosRequest,
  type ChaosResponse,
  type ChaosWire,
  chaosResponse,
  prepareHugeBodies,
} from "./chaos-body.js";
import { type Exchange, h1Exchange, h2Exchange, refusedByGoaway } from "./chaos-exchange.js";
import { type Fault, HUGE_EVENT_MEGABYTES, NO_FAULT } from "./fault.js";

export type { ChaosWire } from "./chaos-body.js";
export type { Fault, Payload } from "./fault.js";

/** h2: TLS with ALPN h2 only. h1: TLS with ALPN http/1.1 only. */
export type ChaosTransport = "h2" | "h1";

/** One request of a case, as performance.now() times (comparable within this process). */
export interface ExchangeRecord {
  receivedAt: number;
  /** When HTTP 200 response headers were sent. */
  answeredAt?: number;
  /** The response status sent, if any. */
  status?: number;
  /** When the request was refused as unprocessed (HTTP/2 GOAWAY and REFUSED_STREAM). */
  refusedAt?: number;
  /** When the response was over, and whether the client abandoned it first (RST_STREAM, h1 socket closed). */
  closedAt?: number;
  closedByClient?: boolean;
  /** When the whole body had been written and the upstream fell silent, the response left open. */
  silentAfterBodyAt?: number;
}

/** What happened to one case id. */
export interface CaseTimeline {
  exchanges: ExchangeRecord[];
  /**
   * Requests that arrived again after one of this case had reached the upstream: read whole and
   * neither refused as unprocessed nor answered with an error status. Sent twice.
   */
  doubleSends: number;
}

export interface ChaosUpstream {
  readonly origin: string;
  /** The PEM to trust (its self-signed certificate): a provider's `ca_file`. */
  readonly ca: string;
  readonly wire: ChaosWire;
  readonly transport: ChaosTransport;
  /**
   * Scripts how requests for this case id behave, starting its record afresh; the id is read from
   * the request body's `model` field.
   */
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
  prepareHugeBodies(wire, HUGE_EVENT_MEGABYTES);
  const plans = new Map<string, Fault>();
  const timelines = new Map<string, CaseTimeline>();
  const sockets = new Set<Socket>();
  let streams = 0;
  let closing = false;

  const timelineOf = (caseId: string): CaseTimeline => {
    let timeline = timelines.get(caseId);
    if (!timeline) {
      timeline = { exchanges: [], doubleSends: 0 };
      timelines.set(caseId, timeline);
    }
    return timeline;
  };
  // Which case a close belongs to is known only once the body was read.
  const recordOf = new WeakMap<Exchange, ExchangeRecord>();
  const exchangeOf = new WeakMap<ExchangeRecord, Exchange>();
  /**
   * Whether a request reached this upstream for good, so that a second one like it was sent twice:
   * read whole, and neither refused as unprocessed (REFUSED_STREAM, or a GOAWAY whose last stream
   * id is below it, even one sent while it hung) nor answered with an error status.
   */
  const delivered = (e: ExchangeRecord): boolean =>
    e.refusedAt === undefined &&
    !exchangeOf.get(e)?.refused() &&
    (e.status === undefined || e.status === 200);
  const closedAt = (exchange: Exchange, at: number, byClient: boolean) => {
    const record = recordOf.get(exchange);
    if (record) Object.assign(record, { closedAt: at, closedByClient: byClient });
  };

  /** Reads the request, records it, and plays its case's fault. */
  const serve = async (body: Readable, apiKey: string | undefined, exchange: Exchange) => {
    streams++;
    exchange.closed.addEventListener("abort", () => streams--, { once: true });
    const request = await readRequest(body, exchange.closed);
    if (!request) return exchange.closed.aborted ? undefined : exchange.reset();
    const timeline = timelineOf(request.model);
    if (timeline.exchanges.some(delivered)) timeline.doubleSends++;
    const record: ExchangeRecord = { receivedAt: performance.now() };
    timeline.exchanges.push(record);
    recordOf.set(exchange, record);
    exchangeOf.set(record, exchange);
    const fault = plans.get(request.model) ?? NO_FAULT;
    const response = chaosResponse(wire, { ...request, apiKey }, fault.payload);
    await play(exchange, fault, response, {
      responded: (status) => {
        record.status = status;
        if (status === 200) record.answeredAt = performance.now();
      },
      refused: () => {
        record.refusedAt = performance.now();
      },
      silentAfterBody: () => {
        record.silentAfterBodyAt = performance.now();
      },
    });
  };

  let server: Server;
  if (transport === "h2") {
    const h2 = createSecureServer({ cert, key, ALPNProtocols: ["h2"], allowHTTP1: false });
    h2.on("sessionError", () => {});
    h2.on("session", (session) => session.on("error", () => {}));
    h2.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      stream.on("error", () => {});
      const exchange: Exchange = h2Exchange(stream, (at, byClient) => closedAt(exchange, at, byClient));
      if (refusedByGoaway(stream)) {
        exchange.goaway();
        return;
      }
      void serve(stream, apiKeyOf(headers), exchange);
    });
    server = h2;
  } else {
    const h1 = createHttpsServer({ cert, key, ALPNProtocols: ["http/1.1"] });
    h1.keepAliveTimeout = 65_000;
    h1.on("request", (req: IncomingMessage, res: ServerResponse) => {
      req.on("error", () => {});
      res.on("error", () => {});
      const exchange: Exchange = h1Exchange(req, res, (at, byClient) => closedAt(exchange, at, byClient));
      void serve(req, apiKeyOf(req.headers), exchange);
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
      // A case planned again is a new case (the soak reuses ids): the requests before were another call's.
      timelines.delete(caseId);
    },
    counts: (caseId) => {
      const exchanges = timelines.get(caseId)?.exchanges ?? [];
      return {
        received: exchanges.length,
        answered: exchanges.filter((e) => e.answeredAt !== undefined).length,
      };
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

/** The key the gateway sent, as a bearer token or `x-api-key`. */
function apiKeyOf(headers: IncomingHttpHeaders): string | undefined {
  const bearer = headers.authorization?.replace(/^Bearer\s+/i, "");
  const key = headers["x-api-key"];
  return bearer ?? (typeof key === "string" ? key : undefined);
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
async function play(
  exchange: Exchange,
  fault: Fault,
  response: ChaosResponse,
  on: { responded(status: number): void; refused(): void; silentAfterBody(): void },
) {
  if (fault.head === "hang") return;
  if (fault.head === "reset") return exchange.reset();
  if (fault.head === "goaway" || exchange.refused()) {
    if (exchange.goaway()) on.refused();
    return;
  }
  exchange.respond(response.status, response.headers);
  on.responded(response.status);
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
  else if (!cut) on.silentAfterBody();
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
