import type { StoreConfig } from "../config/access-schema.js";
import { MemoryStore } from "./memory-store.js";
import { RedisStore } from "./redis-store.js";
import type { SharedStore } from "./shared-store.js";

/** The store the config names: Redis when it gives a URL, else this process's memory. */
export function createStore(config: StoreConfig): SharedStore {
  if (config.redis === undefined) return new MemoryStore();
  return new RedisStore(config.redis);
}
