import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { CallerKeyConfig, LimitsConfig } from "../config/access-schema.js";
import { GatewayError } from "../errors/gateway-error.js";
import { type ModelPatterns, modelPatterns } from "./model-patterns.js";

/** A caller's key as the gateway knows it: never the key itself, only what was configured for it. */
export interface CallerKey {
  /** What logs, metrics and usage show of the key. */
  name: string;
  /** The models it may call; undefined: every model. */
  models: ModelPatterns | undefined;
  admin: boolean;
  /** Epoch ms from which it is refused; undefined: never. */
  expiresAt: number | undefined;
  limits: LimitsConfig;
}

/** Where a request's key is read from, whichever API it came through. */
export interface KeyHeaders {
  authorization?: string | null | undefined;
  "x-api-key"?: string | null | undefined;
}

/**
 * The key a caller presented: `authorization: Bearer <key>` (every API; the OpenAI SDKs send it),
 * else `x-api-key` (Anthropic's SDK). Undefined when it presented none.
 */
export function presentedKey(headers: KeyHeaders): string | undefined {
  const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(headers.authorization ?? "")?.[1];
  const apiKey = headers["x-api-key"]?.trim();
  return bearer ?? (apiKey ? apiKey : undefined);
}

/** The key headers of an HTTP request, HTTP/1.1 or HTTP/2: one value each (a repeated header is no key). */
export function httpKeyHeaders(headers: IncomingHttpHeaders): KeyHeaders {
  const one = (value: string | string[] | undefined) => (typeof value === "string" ? value : undefined);
  return { authorization: one(headers.authorization), "x-api-key": one(headers["x-api-key"]) };
}

/** A new caller key: 256 random bits, base64url, behind a prefix that secret scanners and people recognize. */
export function newCallerKey(): string {
  return `wgk_${randomBytes(32).toString("base64url")}`;
}

/** The key headers of an RPC's request headers (Connect's Headers). */
export function fetchKeyHeaders(headers: Headers): KeyHeaders {
  return { authorization: headers.get("authorization"), "x-api-key": headers.get("x-api-key") };
}

/** The SHA-256 of a key as the config holds it: 64 lowercase hex digits. */
export function keyHash(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/**
 * The configured caller keys, found by their SHA-256. With none configured the gateway is open and
 * every call is served without a key. A key is looked up by its digest, not compared byte by byte
 * with a secret: how long the lookup takes depends on the digest alone, which says nothing of any
 * key, and the match is confirmed with a constant-time comparison.
 */
export class CallerKeys {
  private readonly byHash = new Map<string, { digest: Buffer; key: CallerKey }>();

  constructor(
    keys: readonly CallerKeyConfig[],
    private readonly now: () => number = Date.now,
  ) {
    for (const key of keys) {
      this.byHash.set(key.sha256, {
        digest: Buffer.from(key.sha256, "hex"),
        key: {
          name: key.name,
          models: key.models === undefined ? undefined : modelPatterns(key.models),
          admin: key.roles.includes("admin"),
          expiresAt: key.expires,
          limits: key.limits,
        },
      });
    }
  }

  /** No key is configured: calls need none. */
  get open(): boolean {
    return this.byHash.size === 0;
  }

  /**
   * The key the caller presented, or UNAUTHENTICATED (missing, unknown or expired; the message
   * never repeats what was presented). Undefined when the gateway is open.
   */
  authenticate(presented: string | undefined): CallerKey | undefined {
    if (this.open) return undefined;
    if (presented === undefined)
      throw new GatewayError("unauthenticated", "a key is required: send authorization: Bearer <key>", {
        reason: "KEY_MISSING",
      });
    const digest = createHash("sha256").update(presented).digest();
    const found = this.byHash.get(digest.toString("hex"));
    if (found === undefined || !timingSafeEqual(found.digest, digest))
      throw new GatewayError("unauthenticated", "the key presented is not valid", { reason: "KEY_INVALID" });
    const { key } = found;
    if (key.expiresAt !== undefined && this.now() >= key.expiresAt)
      throw new GatewayError(
        "unauthenticated",
        `key "${key.name}" expired at ${new Date(key.expiresAt).toISOString()}`,
        { reason: "KEY_EXPIRED" },
      );
    return key;
  }
}
