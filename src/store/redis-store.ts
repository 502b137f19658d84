import { Redis, type Result } from "ioredis";
import type { StoreConfig } from "../config/access-schema.js";
import type {
  AddRequest,
  BlobStore,
  SharedStore,
  StoredRow,
  TakeRequest,
  TakeResult,
} from "./shared-store.js";

type RedisConfig = NonNullable<StoreConfig["redis"]>;

declare module "ioredis" {
  interface RedisCommander<Context> {
    weaverTake(numKeys: number, ...keysAndArgs: (string | number)[]): Result<number[], Context>;
    weaverAdd(numKeys: number, ...keysAndArgs: (string | number)[]): Result<number, Context>;
  }
}

/**
 * Checks every counter and the slot set, then takes them all or nothing, in one step on the server.
 * KEYS: the n counters, then the slot set when there is a slot.
 * ARGV: n, now, has-slot, then per counter limit, need, add, ttl, then the slot's holder, limit, until.
 * Returns the failed check (1-based; -1 the slot; 0 none), the slots held, each counter's value.
 */
const TAKE = `
local n = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local hasSlot = ARGV[3] == '1'
local values = {}
for i = 1, n do values[i] = tonumber(redis.call('GET', KEYS[i]) or '0') end
local held = 0
if hasSlot then
  redis.call('ZREMRANGEBYSCORE', KEYS[n + 1], '-inf', now)
  held = redis.call('ZCARD', KEYS[n + 1])
end
local failed = 0
for i = 1, n do
  local at = 3 + (i - 1) * 4
  if values[i] + tonumber(ARGV[at + 2]) > tonumber(ARGV[at + 1]) then failed = i break end
end
local slotAt = 3 + n * 4
if failed == 0 and hasSlot and held >= tonumber(ARGV[slotAt + 2]) then failed = -1 end
if failed == 0 then
  for i = 1, n do
    local at = 3 + (i - 1) * 4
    local add = tonumber(ARGV[at + 3])
    if add ~= 0 then
      values[i] = redis.call('INCRBY', KEYS[i], add)
      if values[i] == add then redis.call('PEXPIRE', KEYS[i], ARGV[at + 4]) end
    end
  end
  if hasSlot then
    local untilMs = tonumber(ARGV[slotAt + 3])
    redis.call('ZADD', KEYS[n + 1], untilMs, ARGV[slotAt + 1])
    if redis.call('PTTL', KEYS[n + 1]) < untilMs - now then redis.call('PEXPIRE', KEYS[n + 1], untilMs - now) end
    held = held + 1
  end
end
local result = {failed, held}
for i = 1, n do result[2 + i] = values[i] end
return result
`;

/**
 * Adds to counters (each created with its TTL), to a row of a table (a hash per table, a field per
 * row and total), and removes a slot's holder, in one step.
 * KEYS: the n counters, then the table, then the slot set. ARGV: n, then per counter by and ttl,
 * then the table's ttl and its fields and amounts (or ""), then the holder (or "").
 */
const ADD = `
local n = tonumber(ARGV[1])
for i = 1, n do
  local by = tonumber(ARGV[2 * i])
  if by ~= 0 then
    if redis.call('INCRBY', KEYS[i], by) == by then redis.call('PEXPIRE', KEYS[i], ARGV[2 * i + 1]) end
  end
end
local at = 2 + 2 * n
local fields = tonumber(ARGV[at + 1])
for f = 1, fields do
  redis.call('HINCRBY', KEYS[n + 1], ARGV[at + 2 * f], ARGV[at + 2 * f + 1])
end
if fields > 0 then redis.call('PEXPIRE', KEYS[n + 1], ARGV[at]) end
local holder = ARGV[at + 2 * fields + 2]
if holder ~= '' then redis.call('ZREM', KEYS[n + 2], holder) end
return 0
`;

/** A row and a total's name, in one hash field: rows are JSON, which never holds a raw newline. */
const FIELD_SEPARATOR = "\n";

/**
 * The store in Redis, shared by every replica that names the same server and prefix. Each
 * operation is one script run on the server, so replicas never interleave inside a take. A call
 * waits at most `timeout` for Redis; a failure is the operation's error, for the caller's policy.
 */
export class RedisStore implements SharedStore {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(config: RedisConfig) {
    this.prefix = config.key_prefix;
    this.redis = new Redis(config.url, {
      commandTimeout: config.timeout,
      connectTimeout: Math.max(config.timeout, 1000),
      // One try per operation: a caller waits for its call, not for Redis to come back.
      maxRetriesPerRequest: 1,
      // Reconnects in the background, at most every 2 s.
      retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    });
    // Failures reach the operations as their errors (counted and warned per operation there);
    // without a listener ioredis would print every reconnect failure.
    this.redis.on("error", () => {});
    this.redis.defineCommand("weaverTake", { lua: TAKE });
    this.redis.defineCommand("weaverAdd", { lua: ADD });
  }

  async take({ checks, slot, now }: TakeRequest): Promise<TakeResult> {
    const keys = checks.map(({ counter }) => this.prefix + counter);
    if (slot !== undefined) keys.push(this.prefix + slot.set);
    const args: (string | number)[] = [checks.length, Math.floor(now), slot === undefined ? 0 : 1];
    for (const check of checks)
      args.push(check.limit, check.need, check.add, Math.max(1, Math.ceil(check.ttlMs)));
    // Whole ms: Redis's PEXPIRE takes integers, and a script that fails halfway keeps what it did.
    if (slot !== undefined) args.push(slot.holder, slot.limit, Math.ceil(slot.until));
    const [failed, slotsHeld, ...values] = await this.redis.weaverTake(keys.length, ...keys, ...args);
    return {
      taken: failed === 0,
      failed: failed === 0 ? undefined : failed === -1 ? "slot" : (failed as number) - 1,
      values,
      slotsHeld: slotsHeld ?? 0,
    };
  }

  async add({ counters, row, release }: AddRequest): Promise<void> {
    const keys = counters.map(({ counter }) => this.prefix + counter);
    keys.push(this.prefix + (row?.table ?? "-"), this.prefix + (release?.set ?? "-"));
    const args: (string | number)[] = [counters.length];
    for (const { by, ttlMs } of counters) args.push(Math.round(by), Math.max(1, Math.ceil(ttlMs)));
    const totals = Object.entries(row?.totals ?? {});
    args.push(Math.ceil(row?.ttlMs ?? 1), totals.length);
    for (const [field, by] of totals) args.push(`${row?.row}${FIELD_SEPARATOR}${field}`, Math.round(by));
    args.push(release?.holder ?? "");
    await this.redis.weaverAdd(keys.length, ...keys, ...args);
  }

  async rows(tables: readonly string[]): Promise<StoredRow[]> {
    const pipeline = this.redis.pipeline();
    for (const table of tables) pipeline.hgetall(this.prefix + table);
    const replies = (await pipeline.exec()) ?? [];
    const rows = new Map<string, StoredRow>();
    replies.forEach(([error, hash], i) => {
      if (error) throw error;
      const table = tables[i] as string;
      for (const [field, value] of Object.entries(hash as Record<string, string>)) {
        const cut = field.lastIndexOf(FIELD_SEPARATOR);
        const id = field.slice(0, cut);
        let row = rows.get(`${table}${FIELD_SEPARATOR}${id}`);
        if (row === undefined) {
          row = { table, row: id, totals: {} };
          rows.set(`${table}${FIELD_SEPARATOR}${id}`, row);
        }
        row.totals[field.slice(cut + 1)] = Number(value);
      }
    });
    return [...rows.values()];
  }

  /** Blobs under their own prefix, on the same connection, each with its TTL. */
  blobs(): BlobStore {
    const prefix = `${this.prefix}blob:`;
    return {
      get: async (key) => (await this.redis.getBuffer(prefix + key)) ?? undefined,
      set: async (key, value, ttlMs) => {
        await this.redis.set(prefix + key, value, "PX", Math.max(1, Math.ceil(ttlMs)));
      },
    };
  }

  async close(): Promise<void> {
    // QUIT once the commands already sent are answered; a server that does not answer is dropped.
    const quit = this.redis.quit().catch(() => undefined);
    const timeout = new Promise((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref());
    await Promise.race([quit, timeout]);
    this.redis.disconnect();
  }
}

/** How long closing waits for Redis to answer what was sent. */
const CLOSE_TIMEOUT_MS = 1000;
