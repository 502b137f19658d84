import type { ServerResponse } from "node:http";
import { cors } from "@connectrpc/connect";
import type { RequestHandler } from "./listener.js";

export interface CorsOptions {
  /** Origins whose pages may call the gateway, e.g. "https://app.example.com"; "*" allows any. */
  allowedOrigins: readonly string[];
}

/** Connect's and gRPC-Web's headers, and `authorization` and `x-api-key` for caller keys. */
const ALLOWED_HEADERS = [...cors.allowedHeaders, "Authorization", "X-Api-Key"].join(", ");
const ALLOWED_METHODS = cors.allowedMethods.join(", ");
/** What a page may read of an answer: Connect's and gRPC-Web's, and where the caller's key stands. */
const EXPOSED_HEADERS = [
  ...cors.exposedHeaders,
  "Retry-After",
  ...["requests", "tokens", "concurrent", "budget-usd"].flatMap((limit) => [
    `X-Ratelimit-Limit-${limit}`,
    `X-Ratelimit-Remaining-${limit}`,
  ]),
  "X-Ratelimit-Reset-Requests",
  "X-Ratelimit-Reset-Tokens",
  "X-Ratelimit-Reset-Budget",
].join(", ");
/** How long a browser may reuse a preflight's answer, in seconds (Chromium caps it at 2 hours). */
const PREFLIGHT_MAX_AGE = "7200";

/**
 * CORS for browser callers of every API on the port (Connect, gRPC-Web, the OpenAI API). A request
 * from an allowed origin gets Access-Control-Allow-Origin and the exposed headers; its preflight
 * is answered here. Other requests pass through untouched, so a browser refuses to show a
 * disallowed origin the response. No origins, no CORS: the handler is returned as it is.
 */
export function withCors(handler: RequestHandler, { allowedOrigins }: CorsOptions): RequestHandler {
  if (allowedOrigins.length === 0) return handler;
  const anyOrigin = allowedOrigins.includes("*");
  const allowed = new Set(allowedOrigins);
  return (req, res) => {
    // Answers differ by origin, so a shared cache must key them by it.
    res.setHeader("Vary", "Origin");
    const origin = req.headers.origin;
    if (origin === undefined || !(anyOrigin || allowed.has(origin))) {
      handler(req, res);
      return;
    }
    res.setHeader("Access-Control-Allow-Origin", origin);
    if (req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined) {
      // HTTP/2's compatibility response takes the same calls as HTTP/1.1's.
      (res as ServerResponse).writeHead(204, {
        "Access-Control-Allow-Methods": ALLOWED_METHODS,
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
      });
      res.end();
      return;
    }
    res.setHeader("Access-Control-Expose-Headers", EXPOSED_HEADERS);
    handler(req, res);
  };
}
