/**
 * The router's time: what it reads and how it waits, injected so cooldowns, backoff and
 * deadlines are tested by moving a clock instead of sleeping (undici tests its retries the same way).
 */
export interface Clock {
  /** Milliseconds on a monotonic scale; a caller's deadline is on the same scale. */
  now(): number;
  /** Calls `wake` after `ms`; the returned function cancels it. */
  setTimer(ms: number, wake: () => void): () => void;
}

/** performance.now() and setTimeout: the scale `CallBounds.deadline` is given in. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(ms, wake) {
    const timer = setTimeout(wake, ms);
    return () => clearTimeout(timer);
  },
};
