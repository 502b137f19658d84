import type { GatewayError } from "../errors/gateway-error.js";

export interface HealthPolicy {
  /** Consecutive failures that start a cooldown. */
  allowedFailures: number;
  /** How long a cooldown lasts, in ms, unless the provider's retry-after says longer. */
  cooldownMs: number;
}

export type HealthState = "healthy" | "cooling_down" | "probing";

/**
 * What the router knows of one deployment: requests in flight, failures in a row, and
 * whether it is out of rotation. After a cooldown a single probe request decides whether
 * it comes back.
 */
export class DeploymentHealth {
  inFlight = 0;
  consecutiveFailures = 0;
  requestsTotal = 0;
  failuresTotal = 0;
  private cooldownUntil = 0;
  private probe: "none" | "due" | "running" = "none";

  constructor(
    private readonly policy: HealthPolicy,
    private readonly maxConcurrent: number | undefined,
  ) {}

  /** Whether a request may go here now: not cooling down, not at its limit, not behind a running probe. */
  available(now: number): boolean {
    if (this.maxConcurrent !== undefined && this.inFlight >= this.maxConcurrent) return false;
    if (this.probe === "running") return false;
    return now >= this.cooldownUntil;
  }

  state(now: number): HealthState {
    if (now < this.cooldownUntil) return "cooling_down";
    return this.probe === "none" ? "healthy" : "probing";
  }

  cooldownRemainingMs(now: number): number {
    return Math.max(0, this.cooldownUntil - now);
  }

  /** Counts a request as started; the first one after a cooldown is the probe. */
  start(): void {
    this.inFlight++;
    this.requestsTotal++;
    if (this.probe === "due") this.probe = "running";
  }

  succeed(): void {
    this.inFlight--;
    this.consecutiveFailures = 0;
    this.probe = "none";
  }

  /**
   * Counts a failure that is the deployment's doing (retryable upstream failures); a caller's
   * mistake or cancel is not. Returns true when this failure started a cooldown.
   */
  fail(error: GatewayError | undefined, now: number): boolean {
    this.inFlight--;
    if (error === undefined || !error.retryable) {
      if (this.probe === "running") this.probe = "due";
      return false;
    }
    this.failuresTotal++;
    this.consecutiveFailures++;
    const askedToWait = error.status === 429 && error.retryAfterMs !== undefined;
    const failedProbe = this.probe === "running";
    if (!askedToWait && !failedProbe && this.consecutiveFailures < this.policy.allowedFailures) return false;
    const wait = askedToWait ? (error.retryAfterMs as number) : this.policy.cooldownMs;
    this.cooldownUntil = now + wait;
    this.probe = "due";
    return true;
  }
}
