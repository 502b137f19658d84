import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/**
 * How long a refused HTTP/1.1 connection keeps reading (and discarding) after its answer. Closing
 * at once with the body's bytes unread makes the kernel send a reset, which can make the client
 * fail before it reads the answer; RFC 9112 §9.6 asks for this staged close instead.
 */
const LINGER_MS = 2_000;

/**
 * For an answer sent before the request's body was read: over HTTP/1.1 the connection closes after
 * it (its unread bytes cannot be told from a next request), discarding what still arrives for
 * `LINGER_MS`; over HTTP/2 the stream ends and the session stays. Call before writing the head.
 */
export function closeAfterReply(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete || res.headersSent || req.httpVersionMajor !== 1) return;
  res.setHeader("connection", "close");
  lingerOnClose(req.socket);
  req.resume();
}

/** Node's server calls `destroySoon` once a `connection: close` answer is written: end, then linger. */
function lingerOnClose(socket: Socket): void {
  socket.destroySoon = function lingeringClose(this: Socket) {
    this.end();
    const timer = setTimeout(() => this.destroy(), LINGER_MS).unref();
    this.once("close", () => clearTimeout(timer));
    this.once("end", () => this.destroy());
    this.resume();
  };
}

/**
 * Applies `closeAfterReply` to whatever answers early on this request: the Connect adapter refuses
 * a body (too large, an unknown encoding) before reading it, as the OpenAI API does.
 */
export function closeAfterEarlyReply(req: IncomingMessage, res: ServerResponse): void {
  if (req.httpVersionMajor !== 1) return;
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse["writeHead"]>) {
    closeAfterReply(req, res);
    return writeHead.apply(this, args as Parameters<typeof writeHead>);
  } as ServerResponse["writeHead"];
}
