import { monitorEventLoopDelay } from "node:perf_hooks";
import { GatewayError } from "../errors/gateway-error.js";

export interface LoadLimits {
  /** Generation calls served at once (`server.max_in_flight`). */
  maxInFlight: number;
  /** Event-loop delay (p99 of a window, two windows in a row) past which new calls are refused (`server.max_event_loop_delay`). */
  maxEventLoopDelayMs: number;
}

/** How often the event-loop delay is judged: a window long enough for a p99, short enough to recover fast. */
const DELAY_WINDOW_MS = 500;
/** What a refused caller is told to wait: about how long a window takes to clear. */
const RETRY_AFTER_MS = 1_000;

/**
 * Admits generation calls while the process has room, and refuses the rest at once (no queue):
 * past `max_in_flight` calls, or while the event loop lags. A refusal is RESOURCE_EXHAUSTED with a
 * retry-after, so callers back off or go to another replica; `/readyz` says the same to a load balancer.
 */
export class LoadShedder {
  private running = 0;
  private lagging = false;
  private lastDelayMs = 0;
  private readonly delay = monitorEventLoopDelay({ resolution: 10 });
  private readonly timer: NodeJS.Timeout;

  constructor(private limits: LoadLimits) {
    this.delay.enable();
    this.timer = setInterval(() => {
      const delayMs = this.delay.percentile(99) / 1e6;
      this.delay.reset();
      // Two windows in a row: one long pause (a GC, one big parse) is behind us by now; a process
      // that lags window after window is saturated.
      const { maxEventLoopDelayMs } = this.limits;
      this.lagging = delayMs > maxEventLoopDelayMs && this.lastDelayMs > maxEventLoopDelayMs;
      this.lastDelayMs = delayMs;
    }, DELAY_WINDOW_MS).unref();
  }

  /** A reloaded config's limits, for the calls that arrive from now on. */
  setLimits(limits: LoadLimits): void {
    this.limits = limits;
  }

  /** Calls admitted and not yet released. */
  get inFlight(): number {
    return this.running;
  }

  /** Admits one call, returning its release (call it once, when the call ends); throws a refusal. */
  admit(): () => void {
    const refusal = this.refusal();
    if (refusal !== undefined) throw refusal;
    this.running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
    };
  }

  /** The error a call arriving now is refused with, or undefined while there is room. */
  refusal(): GatewayError | undefined {
    const overload = this.overload();
    if (overload === undefined) return undefined;
    return new GatewayError("resource_exhausted", `the gateway is overloaded: ${overload}; retry later`, {
      reason: "GATEWAY_OVERLOADED",
      retryAfterMs: RETRY_AFTER_MS,
    });
  }

  /** Why new calls are refused now, or undefined while there is room. */
  overload(): string | undefined {
    if (this.running >= this.limits.maxInFlight)
      return `${this.running} calls in flight, the limit (server.max_in_flight)`;
    if (this.lagging)
      return `event-loop delay ${Math.round(this.lastDelayMs)} ms over ${this.limits.maxEventLoopDelayMs} ms (server.max_event_loop_delay)`;
    return undefined;
  }

  close(): void {
    clearInterval(this.timer);
    this.delay.disable();
  }
}
