import { createHash } from "node:crypto";
import { stringify } from "safe-stable-stringify";
import type { ChatRequest } from "../providers/provider.js";

/**
 * The cache key of a request: the model group it resolved to and every field of the validated
 * request (messages, parameters, tools, format), in a stable order (a tool's schema written with its
 * keys in another order is the same request). Never the caller's key or metadata.
 */
export function cacheKey(model: string, chat: Omit<ChatRequest, "model">): string {
  return createHash("sha256")
    .update(stringify({ model, chat }) ?? "")
    .digest("base64url");
}
