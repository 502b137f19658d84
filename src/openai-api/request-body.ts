import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { GatewayError } from "../errors/gateway-error.js";
import { mediaType } from "../upstream/media-type.js";

/**
 * How long a refused HTTP/1.1 connection keeps reading (and discarding) after its answer. Closing
 * at once with the body's bytes unread makes the kernel send a reset, which can make the client
 * fail before it reads the answer; RFC 9112 §9.6 asks for this staged close instead.
 */
const LINGER_MS = 2_000;

/**
 * The request's JSON body, refused before a byte of it is read unless it is labelled JSON, and
 * read no further than `limit` bytes. A refused body is left unread: see `closeAfterReply`.
 */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<string> {
  // A web page may POST text/plain, form or multipart bodies cross-origin with no CORS preflight
  // (a "simple request"); requiring JSON makes every browser ask first, so a page cannot spend keys.
  const type = mediaType(req.headers["content-type"]);
  if (type !== "application/json") {
    const label = type === "" ? "no content-type" : `content-type ${type}`;
    return Promise.reject(
      new GatewayError("invalid_argument", `${label}: the body must be application/json`, {
        reason: "UNSUPPORTED_MEDIA_TYPE",
      }),
    );
  }
  const tooLarge = () =>
    new GatewayError("resource_exhausted", `body is over the limit of ${limit} bytes`, {
      reason: "REQUEST_TOO_LARGE",
    });
  if (Number(req.headers["content-length"]) > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Still flowing, so the rest is discarded as it comes rather than held.
        req.off("data", onData);
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

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
