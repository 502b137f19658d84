import { EventEmitter, once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
} from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import {
  completionJson,
  type DemoCompletion,
  errorJson,
  parseChatRequest,
  planCompletion,
  streamEvents,
} from "./chat-completion-body.js";
import { selfSignedCertificate } from "./self-signed-certificate.js";

/** How long close() lets open responses finish before it ends their connections. */
const CLOSE_GRACE_MS = 1_000;
/**
 * Idle HTTP/1.1 keep-alive sockets, plain or over TLS: longer than a gateway's 60 s, so the client
 * closes first. Told to clients in Keep-Alive (without it, undici closes idle sockets after 4 s).
 */
const HTTP1_KEEP_ALIVE_MS = 65_000;

export interface DemoUpstreamOptions {
  /** Delay before the first token, in ms. Default 0. */
  timeToFirstTokenMs?: number;
  /** Delay between tokens, in ms. Default 0. */
  interTokenDelayMs?: number;
  /** Loopback address to bind. Default 127.0.0.1. */
  host?: string;
  /** Port; default 0, an ephemeral one. */
  port?: number;
  /** Cleartext HTTP/1.1 with keep-alive instead of TLS (no certificate): the plain upstream benches compare. Default false. */
  plain?: boolean;
}

/** What the demo upstream saw, counted on its own side of the sockets. */
export interface DemoUpstreamCounts {
  connectionsAccepted: number;
  /** Every request answered, whatever its path or outcome. */
  requestsServed: number;
  streamsReset: number;
}

// HTTP/2's compatibility API mirrors HTTP/1.1's, so one handler serves both.
type AnyRequest = IncomingMessage;
type AnyResponse = ServerResponse;

/**
 * An OpenAI-compatible chat completions server over TLS (ALPN h2 and http/1.1) with a
 * certificate made at start, or over cleartext HTTP/1.1 (`plain`). Emits "reset" when a caller
 * abandons a response mid-way.
 */
export class DemoUpstream extends EventEmitter {
  readonly counts: DemoUpstreamCounts = { connectionsAccepted: 0, requestsServed: 0, streamsReset: 0 };
  private server: Http2SecureServer | Server | undefined;
  private certificate = "";
  private nextId = 0;
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly sockets = new Set<Socket>();

  constructor(private readonly options: DemoUpstreamOptions = {}) {
    super();
  }

  /** Whether this upstream already waits as `delays` asks (a reload keeps it then). */
  hasDelays(delays: Pick<DemoUpstreamOptions, "timeToFirstTokenMs" | "interTokenDelayMs">): boolean {
    const { timeToFirstTokenMs = 0, interTokenDelayMs = 0 } = this.options;
    return (
      timeToFirstTokenMs === (delays.timeToFirstTokenMs ?? 0) &&
      interTokenDelayMs === (delays.interTokenDelayMs ?? 0)
    );
  }

  /** The origin to send requests to, e.g. https://127.0.0.1:40123. */
  get origin(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error("the demo upstream is not listening");
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    return `${this.options.plain ? "http" : "https"}://${host}:${address.port}`;
  }

  /** The PEM certificate to trust for this server ("" when plain). */
  get ca(): string {
    return this.certificate;
  }

  async start(): Promise<this> {
    const server = this.options.plain ? this.plainServer() : await this.secureServer();
    // Exclusive: in a worker of `server.workers` the demo upstream is that worker's own, not a
    // port the cluster's primary shares out among the workers.
    server.listen({ port: this.options.port ?? 0, host: this.options.host ?? "127.0.0.1", exclusive: true });
    await once(server, "listening");
    this.server = server;
    return this;
  }

  private plainServer(): Server {
    const server = createServer({ keepAliveTimeout: HTTP1_KEEP_ALIVE_MS }, (req, res) =>
      this.handle(req, res),
    );
    server.on("connection", (socket: Socket) => this.track(socket));
    return server;
  }

  private async secureServer(): Promise<Http2SecureServer> {
    const { cert, key } = await selfSignedCertificate();
    this.certificate = cert;
    const server = createSecureServer({ cert, key, allowHTTP1: true, ALPNProtocols: ["h2", "http/1.1"] });
    // Read by Node's HTTP/1.1 fallback as by an http.Server (unset, it sends no Keep-Alive timeout).
    Object.assign(server, { keepAliveTimeout: HTTP1_KEEP_ALIVE_MS });
    server.on("secureConnection", (socket: Socket) => this.track(socket));
    server.on("session", (session: ServerHttp2Session) => {
      this.sessions.add(session);
      session.once("close", () => this.sessions.delete(session));
    });
    server.on("request", (req: Http2ServerRequest, res: Http2ServerResponse) =>
      this.handle(req as unknown as AnyRequest, res as unknown as AnyResponse),
    );
    // A client that vanishes mid-handshake is its problem, not the demo's.
    server.on("tlsClientError", () => {});
    server.on("sessionError", () => {});
    return server;
  }

  private track(socket: Socket): void {
    socket.setNoDelay(true);
    this.counts.connectionsAccepted++;
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = once(server, "close");
    server.close();
    // Open connections keep `close` from firing, and a client may hold an idle one forever: HTTP/2
    // sessions are told to go away (their streams finish first), and what is left a moment later ends.
    for (const session of this.sessions) session.close();
    const force = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, CLOSE_GRACE_MS);
    await closed;
    clearTimeout(force);
  }

  private handle(req: AnyRequest, res: AnyResponse): void {
    // Every request counts, warm-ups and mistakes too: the gateway's PoolStats counts them all.
    this.counts.requestsServed++;
    if (req.method !== "POST" || req.url?.split("?")[0] !== "/v1/chat/completions") {
      this.reply(
        res,
        404,
        errorJson(`Unknown request URL: ${req.method} ${req.url}`, "invalid_request_error"),
      );
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const request = parseChatRequest(Buffer.concat(chunks).toString("utf8"));
      if (typeof request === "string") {
        this.reply(res, 400, errorJson(request));
        return;
      }
      let completion: DemoCompletion;
      try {
        completion = planCompletion(request, `chatcmpl-demo-${++this.nextId}`);
      } catch (error) {
        // A schema the demo cannot fill (a $ref it cannot follow, one too deep or too large) is
        // the caller's to fix, as OpenAI would say: never a crash of the process it shares.
        this.reply(res, 400, errorJson(`the demo cannot answer this request: ${(error as Error).message}`));
        return;
      }
      if (request.stream) this.stream(res, completion, request.stream_options?.include_usage === true);
      else
        this.after(this.options.timeToFirstTokenMs, res, () =>
          this.reply(res, 200, completionJson(completion)),
        );
    });
  }

  private reply(res: AnyResponse, status: number, body: string): void {
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  }

  private stream(res: AnyResponse, completion: DemoCompletion, includeUsage: boolean): void {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const events = streamEvents(completion, includeUsage);
    const gap = this.options.interTokenDelayMs ?? 0;
    if (gap === 0) {
      this.after(this.options.timeToFirstTokenMs, res, () => res.end(events.join("")));
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    let next = 0;
    const writeNext = () => {
      const event = events[next++] as string;
      if (next === events.length) res.end(event);
      else {
        res.write(event);
        timer = setTimeout(writeNext, gap);
      }
    };
    this.watchForReset(res, () => clearTimeout(timer));
    timer = setTimeout(writeNext, this.options.timeToFirstTokenMs ?? 0);
  }

  /** Runs `then` after `ms` (at once for 0), unless the caller resets the stream first. */
  private after(ms: number | undefined, res: AnyResponse, then: () => void): void {
    if (!ms) {
      then();
      return;
    }
    const timer = setTimeout(then, ms);
    this.watchForReset(res, () => clearTimeout(timer));
  }

  /** Counts and announces a response its caller abandoned before it was finished. */
  private watchForReset(res: AnyResponse, onReset: () => void): void {
    res.once("close", () => {
      // writableEnded, not writableFinished: HTTP/2's compatibility response finishes on RST_STREAM too.
      if (res.writableEnded) return;
      onReset();
      this.counts.streamsReset++;
      this.emit("reset", performance.now());
    });
  }
}
