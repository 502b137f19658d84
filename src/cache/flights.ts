import { GatewayError } from "../errors/gateway-error.js";

/**
 * Identical calls in flight at once share one upstream call. The call runs on a signal of its own:
 * a caller that goes away stops waiting, and the call is cancelled only once every caller has.
 */
export class Flights {
  private readonly unary = new Map<string, UnaryFlight>();
  private readonly streams = new Map<string, StreamFlight>();

  /** The value of the call running under `key`, or of one started now with `start`. */
  async join<T>(
    key: string,
    start: (signal: AbortSignal) => Promise<T>,
    caller: AbortSignal,
  ): Promise<Joined<T>> {
    let flight = this.unary.get(key);
    const coalesced = flight !== undefined;
    if (flight === undefined) {
      const controller = new AbortController();
      const created: UnaryFlight = { controller, waiters: 0, paid: false, promise: start(controller.signal) };
      flight = created;
      this.unary.set(key, created);
      // Only this flight's entry: a caller may have started another under the key since.
      const forget = () => {
        if (this.unary.get(key) === created) this.unary.delete(key);
      };
      created.promise.then(forget, forget);
    }
    const joined = flight;
    joined.waiters++;
    try {
      const value = (await untilAborted(joined.promise, caller)) as T;
      // The first caller to get the answer pays for the call, whether or not it started it.
      const pays = !joined.paid;
      joined.paid = true;
      return { value, coalesced, pays };
    } finally {
      joined.waiters--;
      // The last caller gone: the call is cancelled, and a caller arriving now starts afresh.
      if (joined.waiters === 0 && this.unary.get(key) === joined) {
        this.unary.delete(key);
        joined.controller.abort(cancelled());
      }
    }
  }

  /**
   * The events of the stream running under `key` from its first, or of one started now with
   * `start`: a caller that joins late is replayed what came before, then follows it live.
   */
  async *joinStream<T>(
    key: string,
    start: (signal: AbortSignal) => AsyncIterable<T>,
    caller: AbortSignal,
    watcher: StreamWatcher,
  ): AsyncGenerator<T> {
    let flight = this.streams.get(key) as StreamFlight<T> | undefined;
    const coalesced = flight !== undefined;
    if (flight === undefined) {
      flight = new StreamFlight<T>();
      this.streams.set(key, flight as StreamFlight);
      const started = flight;
      started.pump(start(started.controller.signal)).finally(() => {
        if (this.streams.get(key) === started) this.streams.delete(key);
      });
    }
    const joined = flight;
    watcher.joined(coalesced, () => joined.claim());
    flight.waiters++;
    let abandoned = false;
    try {
      for (let next = 0; ; next++) {
        while (next >= flight.events.length && !flight.done) await untilAborted(flight.changed(), caller);
        if (next < flight.events.length) yield flight.events[next] as T;
        else if (flight.error !== undefined) throw flight.error;
        else return;
      }
    } finally {
      flight.waiters--;
      if (flight.waiters === 0 && !flight.done) {
        abandoned = true;
        if (this.streams.get(key) === flight) this.streams.delete(key);
        flight.controller.abort(cancelled());
      }
      watcher.left(abandoned);
    }
  }
}

export interface Joined<T> {
  value: T;
  /** Another caller's call answered this one. */
  coalesced: boolean;
  /** This caller pays for the call: the first to get its answer. */
  pays: boolean;
}

/** What a stream's caller learns of the flight it joined. */
export interface StreamWatcher {
  /** On joining; `claim` returns true to the one caller that pays for the call (call it at the answer's end). */
  joined(coalesced: boolean, claim: () => boolean): void;
  /** On leaving; `abandoned`: it was the last caller, and the call was cancelled before its end. */
  left(abandoned: boolean): void;
}

interface UnaryFlight {
  controller: AbortController;
  waiters: number;
  paid: boolean;
  promise: Promise<unknown>;
}

/** One stream's events so far, for every caller that joined it. */
class StreamFlight<T = unknown> {
  readonly controller = new AbortController();
  readonly events: T[] = [];
  waiters = 0;
  done = false;
  error: unknown;
  private paid = false;

  /** True once: to the caller that pays for the call. */
  claim(): boolean {
    if (this.paid) return false;
    this.paid = true;
    return true;
  }
  private wake: (() => void) | undefined;
  private next: Promise<void> | undefined;

  async pump(events: AsyncIterable<T>): Promise<void> {
    try {
      for await (const event of events) {
        this.events.push(event);
        this.notify();
      }
    } catch (error) {
      this.error = error;
    } finally {
      this.done = true;
      this.notify();
    }
  }

  /** Resolves at the next event or the end. */
  changed(): Promise<void> {
    this.next ??= new Promise((resolve) => {
      this.wake = resolve;
    });
    return this.next;
  }

  private notify(): void {
    const wake = this.wake;
    this.next = undefined;
    this.wake = undefined;
    wake?.();
  }
}

function cancelled(): GatewayError {
  return new GatewayError("cancelled", "every caller of the shared call went away");
}

/** `work`, or the caller's abort reason once it goes away first. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
