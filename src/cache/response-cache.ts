import { promisify } from "node:util";
import { gunzip, gzip } from "node:zlib";
import type { BlobStore } from "../store/shared-store.js";
import type { CachedAnswer } from "./cached-answer.js";

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** What the cache tells the operator: hits, misses and bypasses per model, answers kept, failures. */
export interface CacheReports {
  looked(model: string, result: "hit" | "miss"): void;
  stored(model: string, bytes: number): void;
  coalesced(model: string): void;
  failed(operation: "get" | "set", error: unknown): void;
}

/**
 * Answers by cache key, in a blob store: this process's memory, or Redis (compressed) shared by
 * replicas. A store that fails is a miss, never a failed call.
 */
export class ResponseCache {
  constructor(
    private readonly store: BlobStore,
    private readonly compress: boolean,
    readonly reports: CacheReports,
    private readonly now: () => number = Date.now,
  ) {}

  /** The answer kept under `key`, if there is one no older than `maxAgeMs`. */
  async get(key: string, model: string, maxAgeMs: number | undefined): Promise<CachedAnswer | undefined> {
    let answer: CachedAnswer | undefined;
    try {
      const blob = await this.store.get(key);
      if (blob !== undefined)
        answer = JSON.parse((this.compress ? await gunzipAsync(blob) : blob).toString("utf8"));
    } catch (error) {
      this.reports.failed("get", error);
    }
    if (answer !== undefined && maxAgeMs !== undefined && this.now() - answer.createdAt > maxAgeMs)
      answer = undefined;
    this.reports.looked(model, answer === undefined ? "miss" : "hit");
    return answer;
  }

  /** Keeps `answer` for `ttlMs`, in the background: the caller already has it. */
  set(key: string, model: string, answer: CachedAnswer, ttlMs: number): void {
    const json = Buffer.from(JSON.stringify(answer), "utf8");
    (async () => {
      const blob = this.compress ? await gzipAsync(json, { level: 1 }) : json;
      await this.store.set(key, blob, ttlMs);
      this.reports.stored(model, blob.length);
    })().catch((error: unknown) => this.reports.failed("set", error));
  }
}
