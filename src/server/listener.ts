import { once } from "node:events";
import {
  createServer as createHttp1Server,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
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
import type { Duplex } from "node:stream";
import { type ConnectionsConfig, ConnectionsSchema } from "../config/schema.js";
import { type Http2Abuse, Http2SessionWatch } from "./http2-session-watch.js";
import { sniffHttpVersion } from "./protocol-sniffer.js";

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
  /** Default: `server.connections`' defaults. */
  limits?: ConnectionLimits;
  /** A caller's HTTP/2 connection was cut off for flooding; `peer` is its address. */
  onAbuse?: (abuse: Http2Abuse, peer: string) => void;
}

/** What one caller connection may hold (`server.connections`). */
export interface ConnectionLimits {
  /** Open connections; more are closed as they are accepted. */
  max: number;
  /** An HTTP/2 connection with no stream, or an HTTP/1.1 socket between requests, closes after this. */
  idleTimeoutMs: number;
  /** A new connection's first bytes, its TLS handshake, and HTTP/1.1 request headers. */
  headersTimeoutMs: number;
  /** An HTTP/1.1 request, received whole. */
  requestTimeoutMs: number;
  maxConcurrentStreams: number;
  maxHeaderBytes: number;
}

/** `server.connections` as the listener takes it. */
export function connectionLimits(config: ConnectionsConfig): ConnectionLimits {
  return {
    max: config.max,
    idleTimeoutMs: config.idle_timeout,
    headersTimeoutMs: config.headers_timeout,
    requestTimeoutMs: config.request_timeout,
    maxConcurrentStreams: config.max_concurrent_streams,
    maxHeaderBytes: config.max_header_bytes,
  };
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
  private readonly limits: ConnectionLimits;
  /** Floods and idleness on the callers' HTTP/2 connections. */
  private readonly watch: Http2SessionWatch;
  /** The cleartext HTTP/1.1 server, fed the sockets the sniffer routes to it. */
  private http1: HttpServer | undefined;

  constructor(private readonly options: ListenerOptions) {
    const limits = options.limits ?? connectionLimits(ConnectionsSchema.parse({}));
    this.limits = limits;
    this.watch = new Http2SessionWatch(
      () => this.sessions,
      limits.idleTimeoutMs,
      (abuse, peer) => options.onAbuse?.(abuse, peer),
    );
    const onSession = (session: Http2Session) => {
      this.sessions.add(session);
      session.once("close", () => this.sessions.delete(session));
      this.watch.add(session);
    };
    const http2Options = {
      settings: {
        maxConcurrentStreams: limits.maxConcurrentStreams,
        maxHeaderListSize: limits.maxHeaderBytes,
      },
      maxHeaderListSize: limits.maxHeaderBytes,
    };
    // The HTTP/1.1 keep-alive between requests is the idle timeout; headers and request, the slowloris bounds.
    const http1Options = {
      keepAliveTimeout: limits.idleTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs),
      maxHeaderSize: limits.maxHeaderBytes,
      // Node enforces the two timeouts only at this interval (default 30 s).
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs / 2),
    };
    const onRequest: RequestHandler = (req, res) => {
      if (req.httpVersionMajor === 1) {
        this.trackHttp1Request(req as IncomingMessage, res as ServerResponse);
        options.handler(req, res);
        return;
      }
      // An HTTP/2 request reaches its handler on the next turn, once the rest of its read is
      // handled: a stream its caller reset in the same read (the rapid-reset flood) costs no handler.
      const stream = (req as Http2ServerRequest).stream;
      setImmediate(() => {
        if (!stream.destroyed) options.handler(req, res);
      });
    };
    if (options.tls) {
      const server = createSecureServer({
        ...options.tls,
        ...http2Options,
        allowHTTP1: true,
        ALPNProtocols: ["h2", "http/1.1"],
        handshakeTimeout: limits.headersTimeoutMs,
      });
      // HTTP/1.1 over TLS is served by this server, with the same bounds as in cleartext.
      Object.assign(server, http1Options);
      server.on("connection", (socket: Socket) => this.trackAccepted(socket));
      server.on("secureConnection", (socket: Socket & { alpnProtocol?: string | false }) => {
        this.routed(peerOf(socket));
        socket.setNoDelay(true);
        if (socket.alpnProtocol !== "h2") this.trackHttp1Socket(socket);
      });
      server.on("session", onSession);
      server.on("request", onRequest);
      // A failed or timed-out handshake (handshakeTimeout): the socket is ours to close.
      server.on("tlsClientError", (_error, socket) => socket.destroy());
      server.on("clientError", answerClientError);
      this.front = server;
    } else {
      const h2c: Http2Server = createH2cServer(http2Options);
      h2c.on("session", onSession);
      h2c.on("request", onRequest);
      // Not half-open: a client's FIN is how a caller that hangs up is told from one that waits,
      // and its call is cancelled. A client that ends its side after its request (`nc -N`) is one
      // that left.
      const http1 = createHttp1Server(http1Options, onRequest);
      this.http1 = http1;
      http1.on("clientError", answerClientError);
      this.front = createTcpServer((socket) => {
        const peer = this.trackAccepted(socket);
        socket.setNoDelay(true);
        sniffHttpVersion(socket, limits.headersTimeoutMs, (isHttp2, seen) => {
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
    this.front.maxConnections = this.limits.max;
    this.front.listen(this.options.port, this.options.host);
    await once(this.front, "listening");
    // Handed its sockets, the cleartext HTTP/1.1 server never listens itself; this starts its
    // checks of the headers and request timeouts, as listening would.
    this.http1?.emit("listening");
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
    // Stops its timeout checks; it has no port of its own to close.
    this.http1?.close(() => {});
    this.watch.close();
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
      // A socket already closed (the caller hung up mid-answer) was already forgotten.
      if (!this.http1Sockets.has(socket)) return;
      const left = (this.http1Sockets.get(socket) ?? 1) - 1;
      this.http1Sockets.set(socket, left);
      if (this.draining && left === 0) socket.destroySoon();
    });
  }
}

/** HTTP/1.1 requests the parser refused, answered with their status before the socket closes. */
const CLIENT_ERROR_STATUS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: "431 Request Header Fields Too Large",
  ERR_HTTP_REQUEST_TIMEOUT: "408 Request Timeout",
  HPE_HEADERS_TIMEOUT: "408 Request Timeout",
};

function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const status = CLIENT_ERROR_STATUS[error.code ?? ""] ?? "400 Bad Request";
  // An answer already under way on this socket (a pipelined bad request behind a stream) is not
  // to be interleaved with a status line: the socket just closes, as Node's own handler does.
  const answering = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || answering?.headersSent) return void socket.destroy();
  const response = `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`;
  socket.end(response, () => socket.destroy());
}
