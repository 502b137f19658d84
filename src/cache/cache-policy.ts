/**
 * Whether a call's answer may come from the cache and go into it: the model's `cache.ttl`, and the
 * request's `cache-control` (gRPC metadata or HTTP header), as HTTP caches read it.
 */
export interface CachePolicy {
  /** Look for a cached answer (false with `no-cache`: fetch a fresh one, and keep it). */
  lookup: boolean;
  /** Accept a cached answer at most this old, ms (`max-age`); undefined: any not expired. */
  maxAgeMs: number | undefined;
  /** Keep the answer this long, ms. */
  ttlMs: number;
}

/**
 * Undefined when the call is not cached at all: the model has no `cache` and the request asks for
 * none, or the request says `no-store`. `max-age=N` turns caching on for one request (kept N s).
 */
export function cachePolicy(
  modelTtlMs: number | undefined,
  cacheControl: string | undefined,
): CachePolicy | undefined {
  // Every call asks: most have neither a cached model nor the header.
  if (cacheControl === undefined)
    return modelTtlMs === undefined || modelTtlMs <= 0
      ? undefined
      : { lookup: true, maxAgeMs: undefined, ttlMs: modelTtlMs };
  const directives = new Map(
    cacheControl
      .split(",")
      .map((directive) => directive.trim().toLowerCase().split("=", 2))
      .filter(([name]) => name)
      .map(([name, value]) => [name as string, value]),
  );
  if (directives.has("no-store")) return undefined;
  const maxAge = Number(directives.get("max-age"));
  const maxAgeMs =
    directives.has("max-age") && Number.isFinite(maxAge) && maxAge >= 0 ? maxAge * 1000 : undefined;
  const ttlMs = modelTtlMs ?? maxAgeMs;
  if (ttlMs === undefined || ttlMs <= 0) return undefined;
  return { lookup: !directives.has("no-cache"), maxAgeMs, ttlMs };
}
