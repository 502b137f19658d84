/**
 * Where shared state lives: counters that expire, slots held by calls in flight, and rows of
 * totals. In process by default (MemoryStore); in Redis (RedisStore) when replicas share it. Both
 * keep the same promises, and nothing above this folder knows which one it has.
 */
export interface SharedStore {
  /**
   * All or nothing: when every check passes and the slot (if any) is free, adds each check's `add`
   * and takes the slot; otherwise changes nothing and says which check failed.
   */
  take(request: TakeRequest): Promise<TakeResult>;
  /** Adds to counters and to a row of totals, and gives a slot back; checks nothing. */
  add(request: AddRequest): Promise<void>;
  /** The rows of each table named, with their totals. */
  rows(tables: readonly string[]): Promise<StoredRow[]>;
  close(): Promise<void>;
}

/** A counter that must have room: it passes when `value + need <= limit`. */
export interface CounterCheck {
  counter: string;
  limit: number;
  need: number;
  /** Added when everything passes (0 to only check). */
  add: number;
  /** A counter created now expires after this long (its window's end). */
  ttlMs: number;
}

/** A place among at most `limit` held at once; a holder that never gives it back loses it at `until` (epoch ms). */
export interface SlotTake {
  set: string;
  holder: string;
  limit: number;
  until: number;
}

export interface TakeRequest {
  checks: readonly CounterCheck[];
  slot?: SlotTake | undefined;
  /** Epoch ms, for the slots' expiry. */
  now: number;
}

export interface TakeResult {
  taken: boolean;
  /** The index of the first check that failed, or "slot"; undefined when taken. */
  failed: number | "slot" | undefined;
  /** Each counter's value: after the take, or as it stood when refused. */
  values: number[];
  /** Slots held in the set, this one included when taken. */
  slotsHeld: number;
}

export interface AddRequest {
  counters: readonly { counter: string; by: number; ttlMs: number }[];
  row?: { table: string; row: string; totals: Readonly<Record<string, number>>; ttlMs: number } | undefined;
  release?: { set: string; holder: string } | undefined;
}

export interface StoredRow {
  table: string;
  row: string;
  totals: Record<string, number>;
}

/** Values kept for a while by key: cached answers. */
export interface BlobStore {
  get(key: string): Promise<Buffer | undefined>;
  set(key: string, value: Buffer, ttlMs: number): Promise<void>;
}
