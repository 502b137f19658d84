import { once } from "node:events";
import { createServer as createHttp1Server, type IncomingMessage, type ServerResponse } from "node:http";
import {
  createServer as createH2cServer,
  createSecureServer,
  type Http2SecureServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
} from "node:http2";
import {
  type AddressInfo,
  createServer as createTcpServer,
  type Socket,
  type Server as TcpServer,
} from "node:net";
import { sniffHttpVersion } from "./protocol-sniffer.js";

/**
 * How long an idle HTTP/1.1 keep-alive connection stays open. Node's default, 5 s, is shorter
 * than the idle timeout of common load balancers (60 s) and HTTP clients, so the gateway would
 * close connections they are about to reuse, and the request sent in that moment would fail.
 */
const HTTP1_KEEPALIVE_MS = 65_000;
/** Node wants the headers timeout above the keep-alive one. */
const HTTP1_TIMEOUTS = { keepAliveTimeout: HTTP1_KEEPALIVE_MS, headersTimeout: HTTP1_KEEPALIVE_MS + 1000 };

export type RequestHandler = (
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
) => void;

export interface ListenerOptions {
  host: string;
  port: number;
  /** PEM certificate and key; with them the port speaks TLS with ALPN h2 and http/1.1. */
  tls?: { cert: Buffer; key: Buffer } | undefined;
  handler: RequestHandler;
}

/** The server that owns a socket handles its errors; this keeps one after our destroy() harmless. */
const ignoreError = () => {};

/** Which TCP connection a socket is: a TLS socket and the TCP socket below it share it. */
const peerOf = (socket: Socket) => `${socket.remoteAddress}:${socket.remotePort}`;

/**
 * One port for every protocol: cleartext HTTP/2 (prior knowledge) and HTTP/1.1 are told apart
 * by their first bytes; with TLS, ALPN decides. Tracks every connection from the moment it is
 * accepted, so shutdown can drain it and keep its deadline.
 */
export class Listener {
  private readonly front: TcpServer | Http2SecureServer;
  /** Every accepted TCP socket until it closes: what is left at the drain deadline is destroyed. */
  private readonly accepted = new Set<Socket>();
  /** Accepted TCP sockets no server owns yet (still sniffed, or mid TLS handshake), by peer. */
  private readonly unrouted = new Map<string, Socket>();
  private readonly sessions = new Set<Http2Session>();
  /** HTTP/1.1 sockets and how many requests each is serving now. */
  private readonly http1Sockets = new Map<Socket, number>();
  private draining = false;

  constructor(private readonly options: ListenerOptions) {
    const onSession = (session: Http2Session) => {
      this.sessions.add(session);
      session.once("close", () => this.sessions.delete(session));
    };
    const onRequest: RequestHandler = (req, res) => {
      if (req.httpVersionMajor === 1) this.trackHttp1Request(req as IncomingMessage, res as ServerResponse);
      options.handler(req, res);
    };
    if (options.tls) {
      const server = createSecureServer({
        ...options.tls,
        allowHTTP1: true,
        ALPNProtocols: ["h2", "http/1.1"],
      });
      // HTTP/1.1 over TLS is served by this server, with the same keep-alive as in cleartext.
      Object.assign(server, HTTP1_TIMEOUTS);
      server.on("connection", (socket: Socket) => this.trackAccepted(socket));
      server.on("secureConnection", (socket: Socket & { alpnProtocol?: string | false }) => {
        this.routed(peerOf(socket));
        socket.setNoDelay(true);
        if (socket.alpnProtocol !== "h2") this.trackHttp1Socket(socket);
      });
      server.on("session", onSession);
      server.on("request", onRequest);
      server.on("tlsClientError", () => {});
      this.front = server;
    } else {
      const h2c: Http2Server = createH2cServer();
      h2c.on("session", onSession);
      h2c.on("request", onRequest);
      const http1 = createHttp1Server(HTTP1_TIMEOUTS, onRequest);
      http1.on("clientError", (_error, socket) => socket.destroy());
      this.front = createTcpServer((socket) => {
        const peer = this.trackAccepted(socket);
        socket.setNoDelay(true);
        sniffHttpVersion(socket, (isHttp2, seen) => {
          this.routed(peer, socket);
          if (isHttp2) {
            // The HTTP/2 session reads bytes already buffered on the socket before its handle.
            socket.unshift(seen);
            h2c.emit("connection", socket);
          } else {
            // The HTTP/1.1 parser reads the handle directly, so the sniffed bytes are replayed to it.
            this.trackHttp1Socket(socket);
            http1.emit("connection", socket);
            socket.emit("data", seen);
            socket.resume();
          }
        });
      });
    }
  }

  async listen(): Promise<AddressInfo> {
    this.front.listen(this.options.port, this.options.host);
    await once(this.front, "listening");
    return this.front.address() as AddressInfo;
  }

  /**
   * Stops accepting and closes at once the connections that carry no request (still sniffed,
   * mid-handshake, idle HTTP/1.1), sends GOAWAY to HTTP/2 clients and `Connection: close` to
   * HTTP/1.1 ones, lets in-flight requests finish for up to `drainMs`, then destroys what is left.
   */
  async close(drainMs: number): Promise<void> {
    this.draining = true;
    const stopped = new Promise<void>((resolve) => this.front.close(() => resolve()));
    for (const socket of this.unrouted.values()) socket.destroy();
    for (const session of this.sessions) session.close();
    for (const [socket, inFlight] of this.http1Sockets) if (inFlight === 0) socket.destroySoon();
    const drained = stopped.then(() => undefined);
    const deadline = new Promise<"timeout">((resolve) => setTimeout(resolve, drainMs, "timeout").unref());
    if ((await Promise.race([drained, deadline])) === "timeout") {
      for (const session of this.sessions) session.destroy();
      for (const socket of this.http1Sockets.keys()) socket.destroy();
      // A TLS socket goes with the TCP socket below it.
      for (const socket of this.accepted) socket.destroy();
      await stopped;
    }
  }

  /** Tracks a TCP socket from its accept until it closes; returns its peer, to say when it is routed. */
  private trackAccepted(socket: Socket): string {
    const peer = peerOf(socket);
    this.accepted.add(socket);
    this.unrouted.set(peer, socket);
    socket.on("error", ignoreError);
    socket.once("close", () => {
      this.accepted.delete(socket);
      this.routed(peer, socket);
    });
    return peer;
  }

  /** A server owns the connection from `peer` now (or it closed): it is no longer unrouted. */
  private routed(peer: string, socket?: Socket): void {
    if (socket === undefined || this.unrouted.get(peer) === socket) this.unrouted.delete(peer);
  }

  private trackHttp1Socket(socket: Socket): void {
    this.http1Sockets.set(socket, 0);
    socket.on("error", ignoreError);
    socket.once("close", () => this.http1Sockets.delete(socket));
  }

  private trackHttp1Request(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    this.http1Sockets.set(socket, (this.http1Sockets.get(socket) ?? 0) + 1);
    if (this.draining) res.setHeader("connection", "close");
    res.once("close", () => {
      const left = (this.http1Sockets.get(socket) ?? 1) - 1;
      this.http1Sockets.set(socket, left);
      if (this.draining && left === 0) socket.destroySoon();
    });
  }
}
