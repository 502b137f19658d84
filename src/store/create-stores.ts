import type { StoreConfig } from "../config/access-schema.js";
import type { CacheConfig } from "../config/schema.js";
import { MemoryBlobStore, MemoryStore } from "./memory-store.js";
import { RedisStore } from "./redis-store.js";
import type { BlobStore, SharedStore } from "./shared-store.js";

/** Where the process keeps shared state: quota counters and usage, and cached answers. */
export interface Stores {
  shared: SharedStore;
  /** Cached answers: in this process (bounded by cache.max_bytes), or in Redis. */
  blobs: BlobStore;
  /** The in-process cache, for its size and evictions; undefined when answers are in Redis. */
  memoryBlobs: MemoryBlobStore | undefined;
  close(): Promise<void>;
}

/** The stores the config names: Redis when it gives a URL (and, for answers, `cache.store: redis`), else memory. */
export function createStores(store: StoreConfig, cache: CacheConfig): Stores {
  const redis = store.redis === undefined ? undefined : new RedisStore(store.redis);
  const memoryBlobs = cache.store === "redis" && redis ? undefined : new MemoryBlobStore(cache.max_bytes);
  return {
    shared: redis ?? new MemoryStore(),
    blobs: memoryBlobs ?? (redis as RedisStore).blobs(),
    memoryBlobs,
    close: async () => {
      await redis?.close();
    },
  };
}
