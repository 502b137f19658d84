import { HealthCheckResponse_ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";

/** UNKNOWN, SERVING, NOT_SERVING, and SERVICE_UNKNOWN (which only Watch reports). */
export { HealthCheckResponse_ServingStatus as ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";

type Status = HealthCheckResponse_ServingStatus;
const { NOT_SERVING, SERVICE_UNKNOWN } = HealthCheckResponse_ServingStatus;

/** The name under which the whole server's status is kept. */
export const OVERALL = "";

interface Watcher {
  /** The latest status not yet delivered; changes made while the watcher is busy collapse to the last. */
  pending: Status | undefined;
  /** No more statuses after the pending one. */
  ended: boolean;
  wake: (() => void) | undefined;
}

/**
 * The serving status of each service and of the whole server (""), as the gRPC health
 * protocol reports it. Watchers are told the current status at once and every change after.
 */
export class ServingStatusRegistry {
  private readonly statuses = new Map<string, Status>();
  private readonly watchers = new Map<string, Set<Watcher>>();
  private shutDown = false;

  /** `initial` defaults to the whole server NOT_SERVING: it serves once told it does. */
  constructor(initial: Iterable<readonly [string, Status]> = [[OVERALL, NOT_SERVING]]) {
    for (const [service, status] of initial) this.statuses.set(service, status);
  }

  /** Sets a service's status ("" for the whole server). Ignored after shutdown(). */
  setStatus(service: string, status: Status): void {
    if (this.shutDown) return;
    this.statuses.set(service, status);
    this.notify(service, status);
  }

  /** Forgets a service: Check answers NOT_FOUND again and watchers see SERVICE_UNKNOWN. */
  clearStatus(service: string): void {
    if (this.shutDown || !this.statuses.delete(service)) return;
    this.notify(service, SERVICE_UNKNOWN);
  }

  /** A service's status; undefined when it has none. */
  getStatus(service: string): Status | undefined {
    return this.statuses.get(service);
  }

  /** Every known service and its status. */
  list(): ReadonlyMap<string, Status> {
    return new Map(this.statuses);
  }

  get isShutDown(): boolean {
    return this.shutDown;
  }

  /**
   * Sets every service NOT_SERVING, tells the watchers so and ends their streams. Later
   * setStatus() calls are ignored, and later watches get NOT_SERVING (or SERVICE_UNKNOWN) and end.
   */
  shutdown(): void {
    if (this.shutDown) return;
    for (const service of this.statuses.keys()) this.statuses.set(service, NOT_SERVING);
    this.shutDown = true;
    for (const [service, watchers] of this.watchers) {
      for (const watcher of watchers) {
        watcher.pending = this.statuses.has(service) ? NOT_SERVING : SERVICE_UNKNOWN;
        watcher.ended = true;
        watcher.wake?.();
      }
    }
  }

  /**
   * The current status of a service at once (SERVICE_UNKNOWN when it has none), then each
   * change, skipping repeats. Ends after shutdown() or when `signal` aborts.
   */
  async *watch(service: string, signal?: AbortSignal): AsyncGenerator<Status, void, undefined> {
    const watcher: Watcher = {
      pending: this.statuses.get(service) ?? SERVICE_UNKNOWN,
      ended: this.shutDown,
      wake: undefined,
    };
    const wake = () => watcher.wake?.();
    signal?.addEventListener("abort", wake, { once: true });
    let watchers = this.watchers.get(service);
    if (!watchers) {
      watchers = new Set();
      this.watchers.set(service, watchers);
    }
    watchers.add(watcher);
    try {
      let last: Status | undefined;
      for (;;) {
        if (signal?.aborted) return;
        const status = watcher.pending;
        if (status !== undefined) {
          watcher.pending = undefined;
          if (status !== last) {
            last = status;
            yield status;
          }
          continue;
        }
        if (watcher.ended) return;
        await new Promise<void>((resolve) => {
          watcher.wake = resolve;
        });
        watcher.wake = undefined;
      }
    } finally {
      signal?.removeEventListener("abort", wake);
      watchers.delete(watcher);
      if (watchers.size === 0 && this.watchers.get(service) === watchers) this.watchers.delete(service);
    }
  }

  private notify(service: string, status: Status): void {
    for (const watcher of this.watchers.get(service) ?? []) {
      watcher.pending = status;
      watcher.wake?.();
    }
  }
}
