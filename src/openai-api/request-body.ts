import type { IncomingMessage } from "node:http";
import { GatewayError } from "../errors/gateway-error.js";
import { mediaType } from "../upstream/media-type.js";

/**
 * The request's JSON body, refused before a byte of it is read unless it is labelled JSON, and
 * read no further than `limit` bytes. A refused body is left unread: see `closeAfterReply` (server/close-after-reply.ts).
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
    // The only error a request body has: its caller's connection ended before the body did.
    req.on("error", () =>
      reject(new GatewayError("cancelled", "the caller went away while sending its request")),
    );
  });
}
