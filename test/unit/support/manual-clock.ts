import type { Clock } from "../../../src/router/clock.js";

interface Timer {
  at: number;
  wake: () => void;
}

/** Lets every queued promise continuation run (a macrotask turn, not a wait for time). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A clock that moves only when the test says, so timing is asserted without sleeping. */
export class ManualClock implements Clock {
  private readonly timers = new Set<Timer>();

  constructor(private current = 1_000) {}

  now(): number {
    return this.current;
  }

  setTimer(ms: number, wake: () => void): () => void {
    const timer = { at: this.current + ms, wake };
    this.timers.add(timer);
    return () => this.timers.delete(timer);
  }

  /** Timers set and not yet fired or cancelled. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time on by `ms`, firing due timers in order, each at its own time, with its continuations run. */
  async advance(ms: number): Promise<void> {
    await flush();
    const target = this.current + ms;
    for (;;) {
      const due = [...this.timers].filter((t) => t.at <= target).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.timers.delete(due);
      this.current = due.at;
      due.wake();
      await flush();
    }
    this.current = target;
  }
}
