import { LRUCache } from "lru-cache";
import type {
  AddRequest,
  BlobStore,
  SharedStore,
  StoredRow,
  TakeRequest,
  TakeResult,
} from "./shared-store.js";

/** Bounds of the in-process store: past them the least recently used entries go first. */
const MAX_COUNTERS = 100_000;
const MAX_ROWS = 100_000;

/** The in-process store: one replica's counters, slots and rows, bounded in memory. */
export class MemoryStore implements SharedStore {
  // A counter's expiry is set when it is created and kept by later updates: it is its window's end.
  private readonly counters = new LRUCache<string, number>({ max: MAX_COUNTERS, noUpdateTTL: true });
  private readonly rowsByKey = new LRUCache<string, StoredRow>({ max: MAX_ROWS, noUpdateTTL: true });
  private readonly slots = new Map<string, Map<string, number>>();

  async take({ checks, slot, now }: TakeRequest): Promise<TakeResult> {
    const values = checks.map(({ counter }) => this.counters.get(counter) ?? 0);
    const failed = checks.findIndex((check, i) => (values[i] as number) + check.need > check.limit);
    const holders = slot === undefined ? undefined : this.holders(slot.set, now);
    const slotsHeld = holders?.size ?? 0;
    if (failed >= 0) return { taken: false, failed, values, slotsHeld };
    if (slot !== undefined && slotsHeld >= slot.limit)
      return { taken: false, failed: "slot", values, slotsHeld };
    checks.forEach((check, i) => {
      const value = (values[i] as number) + check.add;
      values[i] = value;
      if (check.add !== 0) this.counters.set(check.counter, value, { ttl: check.ttlMs });
    });
    if (slot !== undefined) holders?.set(slot.holder, slot.until);
    return { taken: true, failed: undefined, values, slotsHeld: slotsHeld + (slot === undefined ? 0 : 1) };
  }

  async add({ counters, row, release }: AddRequest): Promise<void> {
    for (const { counter, by, ttlMs } of counters) {
      if (by !== 0) this.counters.set(counter, (this.counters.get(counter) ?? 0) + by, { ttl: ttlMs });
    }
    if (row !== undefined) {
      const key = `${row.table}\n${row.row}`;
      const stored = this.rowsByKey.get(key) ?? { table: row.table, row: row.row, totals: {} };
      for (const [field, by] of Object.entries(row.totals))
        stored.totals[field] = (stored.totals[field] ?? 0) + by;
      this.rowsByKey.set(key, stored, { ttl: row.ttlMs });
    }
    if (release !== undefined) {
      const holders = this.slots.get(release.set);
      holders?.delete(release.holder);
      if (holders?.size === 0) this.slots.delete(release.set);
    }
  }

  async rows(tables: readonly string[]): Promise<StoredRow[]> {
    const wanted = new Set(tables);
    const found: StoredRow[] = [];
    for (const row of this.rowsByKey.values()) {
      if (wanted.has(row.table)) found.push({ ...row, totals: { ...row.totals } });
    }
    return found;
  }

  async close(): Promise<void> {}

  /** The set's holders, those past their time dropped. */
  private holders(set: string, now: number): Map<string, number> {
    let holders = this.slots.get(set);
    if (holders === undefined) {
      holders = new Map();
      this.slots.set(set, holders);
    }
    for (const [holder, until] of holders) if (until <= now) holders.delete(holder);
    return holders;
  }
}

/** Blobs in this process, bounded by their bytes: the least recently used go first. */
export class MemoryBlobStore implements BlobStore {
  private readonly blobs: LRUCache<string, Buffer>;
  /** Blobs pushed out to make room. */
  evictions = 0;

  constructor(maxBytes: number) {
    this.blobs = new LRUCache({
      maxSize: maxBytes,
      sizeCalculation: (blob) => Math.max(1, blob.length),
      dispose: (_blob, _key, reason) => {
        if (reason === "evict") this.evictions++;
      },
    });
  }

  /** The bytes held now. */
  get bytes(): number {
    return this.blobs.calculatedSize;
  }

  async get(key: string): Promise<Buffer | undefined> {
    return this.blobs.get(key);
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    this.blobs.set(key, value, { ttl: ttlMs });
  }
}
