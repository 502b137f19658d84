import { EventEmitter, once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { constants, createSecureServer, type Http2ServerResponse } from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Server as NetServer, Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { selfSignedCertificate } from "../../../src/demo/self-signed-certificate.js";
import {
  type CommonScenario,
  type ErrorScenario,
  type RecordedRequest,
  type Reply,
  recut,
} from "./scenario.js";

export interface FakeUpstreamOptions {
  /** TLS offering only http/1.1 in ALPN (no h2). */
  http1Only?: boolean;
  /** Cleartext HTTP/1.1 (an http:// origin) instead of TLS. */
  cleartext?: boolean;
}

export interface FakeUpstreamEvents {
  /** A client abandoned a response before it ended (RST_STREAM or a closed socket); performance.now(). */
  abort: [at: number];
  /** A request has fully arrived (it is already in `requests`). */
  request: [request: RecordedRequest];
}

/** What a test may script: the provider's own scenarios or the common ones. */
export type ScenarioOf<S> = S | CommonScenario;
/** A scenario, or a function choosing one from the request. */
export type Script<S> = ScenarioOf<S> | ((request: RecordedRequest) => ScenarioOf<S>);

/**
 * A fake upstream on 127.0.0.1 with a fresh self-signed certificate (ALPN h2 and http/1.1). It records
 * every request, counts connections and aborts, and answers from a queue of scripted scenarios; a
 * provider subclass turns a scenario into that provider's wire format.
 */
export abstract class FakeUpstream<S extends { kind: string }> extends EventEmitter<FakeUpstreamEvents> {
  /** Every request received, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  /** Connections accepted (TLS handshakes completed, or TCP connections when cleartext). */
  connections = 0;
  /** Responses the client abandoned before they ended. */
  aborts = 0;
  private readonly queue: Script<S>[] = [];
  private fallback: Script<S> | undefined;
  private server: NetServer | undefined;
  private pem = "";
  private closing = false;
  private readonly sockets = new Set<Socket>();
  /** Connections (h1 sockets, h2 sessions) this server broke on purpose: their closes are not aborts. */
  private readonly brokenByUs = new WeakSet<object>();
  /** Responses this server ended: their closes are not aborts. */
  private readonly ended = new WeakSet<ServerResponse>();

  constructor(private readonly options: FakeUpstreamOptions = {}) {
    super();
  }

  /** Validates a request before any scenario is used (auth, path, required fields); a Reply rejects it. */
  protected abstract check(request: RecordedRequest): Reply | undefined;
  /** Work `check` needs done first that cannot be synchronous (a signature's hashes); none by default. */
  protected async verify(_request: RecordedRequest): Promise<void> {}
  /** Builds the reply for a provider scenario, an error scenario, or (undefined) the default answer. */
  protected abstract answer(request: RecordedRequest, scenario: S | ErrorScenario | undefined): Reply;

  /** Queues scenarios; each answers one request, in order. Then `respondAlways`'s, or the default answer. */
  respondWith(...scripts: Script<S>[]): this {
    this.queue.push(...scripts);
    return this;
  }

  /** The scenario for requests once the queue is empty (undefined: the provider's default answer). */
  respondAlways(script: Script<S> | undefined): this {
    this.fallback = script;
    return this;
  }

  /** How many requests arrived. */
  get requestCount(): number {
    return this.requests.length;
  }

  /** e.g. https://127.0.0.1:40123 (http:// when cleartext). */
  get origin(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error("the fake upstream is not listening");
    return `${this.options.cleartext ? "http" : "https"}://127.0.0.1:${address.port}`;
  }

  /** The PEM certificate to trust (empty when cleartext). */
  get ca(): string {
    return this.pem;
  }

  async listen(): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    let server: NetServer;
    if (this.options.cleartext) server = createHttpServer(handler);
    else {
      const { cert, key } = await selfSignedCertificate();
      this.pem = cert;
      server = this.options.http1Only
        ? createHttpsServer({ cert, key, ALPNProtocols: ["http/1.1"] }, handler)
        : createSecureServer(
            { cert, key, allowHTTP1: true, ALPNProtocols: ["h2", "http/1.1"] },
            handler as never,
          );
      server.on("tlsClientError", () => {});
      server.on("sessionError", () => {});
    }
    server.on(this.options.cleartext ? "connection" : "secureConnection", (socket: Socket) => {
      socket.setNoDelay(true);
      this.connections++;
    });
    server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    this.server = server;
    return this;
  }

  /** Stops listening and destroys every open connection. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server || this.closing) return;
    this.closing = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const stop = new AbortController();
    const carried = carriers(req, res); // now: a destroyed h2 stream forgets its session
    // Not "finish": HTTP/2's compatibility response emits it on RST_STREAM too.
    res.once("close", () => {
      stop.abort();
      if (this.ended.has(res) || this.closing || carried.some((c) => this.brokenByUs.has(c))) return;
      this.aborts++;
      this.emit("abort", performance.now());
    });
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.once("end", () => {
      const request = record(req, Buffer.concat(chunks).toString("utf8"));
      this.requests.push(request);
      this.emit("request", request);
      void this.verify(request).then(() => {
        const reply = this.check(request) ?? this.replyFor(request);
        return this.play(reply, req, res, stop.signal);
      });
    });
  }

  private replyFor(request: RecordedRequest): Reply {
    const script = this.queue.shift() ?? this.fallback;
    const scenario = typeof script === "function" ? script(request) : script;
    switch (scenario?.kind) {
      case "hang":
        return { type: "hang" };
      case "reset":
        return { type: "reset" };
      case "raw": {
        const {
          status = 200,
          headers = {},
          chunks,
          ...pacing
        } = scenario as Extract<CommonScenario, { kind: "raw" }>;
        return { type: "send", status, headers, pieces: chunks, pacing };
      }
      default:
        return this.answer(request, scenario as S | ErrorScenario | undefined);
    }
  }

  private async play(reply: Reply, req: IncomingMessage, res: ServerResponse, signal: AbortSignal) {
    if (reply.type === "hang") return;
    if (reply.type === "reset") return this.breakConnection(req, res, "connection");
    const pacing = reply.pacing ?? {};
    if (pacing.headersDelayMs && !(await pause(pacing.headersDelayMs, signal))) return;
    if (signal.aborted) return;
    res.writeHead(reply.status, reply.headers);
    res.flushHeaders?.();
    const pieces = pacing.chunkBytes ? recut(reply.pieces, pacing.chunkBytes) : reply.pieces;
    for (const [index, piece] of pieces.entries()) {
      if (index === pacing.resetAfterEvents) return this.breakConnection(req, res, pacing.resetMode);
      if (index > 0 && pacing.eventDelayMs && !(await pause(pacing.eventDelayMs, signal))) return;
      if (signal.aborted) return;
      res.write(piece);
    }
    if (pieces.length === pacing.resetAfterEvents) this.breakConnection(req, res, pacing.resetMode);
    else {
      this.ended.add(res);
      res.end();
    }
  }

  /** Destroys the h1 socket or h2 session (or, for mode "stream" on h2, resets just the stream). */
  private breakConnection(
    req: IncomingMessage,
    res: ServerResponse,
    mode: "connection" | "stream" = "connection",
  ) {
    const h2 = req.httpVersion === "2.0" ? (res as unknown as Http2ServerResponse).stream : undefined;
    if (h2 && mode === "stream") {
      this.brokenByUs.add(h2);
      h2.close(constants.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    const connection = h2 ? h2.session : req.socket;
    if (connection) this.brokenByUs.add(connection);
    connection?.destroy();
  }
}

/** What carries a response: the h1 socket, or the h2 stream and its session. */
function carriers(req: IncomingMessage, res: ServerResponse): object[] {
  if (req.httpVersion !== "2.0") return [req.socket];
  const stream = (res as unknown as Http2ServerResponse).stream;
  return stream.session ? [stream, stream.session] : [stream];
}

function record(req: IncomingMessage, rawBody: string): RecordedRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!name.startsWith(":") && value !== undefined)
      headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  let body: unknown;
  try {
    body = rawBody ? JSON.parse(rawBody) : undefined;
  } catch {
    body = undefined;
  }
  const method = req.method ?? "";
  return {
    method,
    path: req.url ?? "",
    headers,
    authority: String(req.headers[":authority"] ?? req.headers.host ?? ""),
    body,
    rawBody,
    httpVersion: req.httpVersion,
    receivedAt: performance.now(),
  };
}

/** Waits `ms`; false when the response was abandoned meanwhile. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}
