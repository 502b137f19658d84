import cluster, { type Worker } from "node:cluster";
import type { Logger } from "../log/logger.js";
import {
  type PrimaryToWorker,
  type ReportTopic,
  WORKER_ENV,
  type WorkerReport,
  type WorkerToPrimary,
} from "./worker-messages.js";

/** How long a gathering waits for a busy worker before answering with the others' reports. */
const REPORT_TIMEOUT_MS = 2_000;
/** A worker that dies sooner than this after it started waits this long before it is replaced. */
const RESTART_BACKOFF_MS = 1_000;
/** How long past the drain timeout a stopping worker may take before it is killed. */
const STOP_GRACE_MS = 5_000;

interface Slot {
  readonly index: number;
  process: Worker;
  startedAt: number;
  ready: boolean;
}

interface Gathering {
  readonly requester: Slot;
  readonly requesterId: number;
  readonly waiting: Set<Slot>;
  readonly reports: WorkerReport[];
  readonly timer: NodeJS.Timeout;
}

/** Why the gateway did not start: a worker exited before it listened (its stderr says why). */
export class WorkerStartError extends Error {
  override name = "WorkerStartError";
  constructor(readonly exitCode: number) {
    super(`a worker exited with code ${exitCode} before it listened`);
  }
}

/**
 * The primary process of `server.workers` > 1: runs the workers (Node's cluster: the primary
 * accepts and hands connections round robin, so every worker serves the one port), replaces one
 * that dies, relays the gatherings behind the admin views, and passes signals on: SIGHUP reloads
 * each worker, a stop drains each.
 */
export class WorkerSupervisor {
  private readonly slots: Slot[] = [];
  private readonly gatherings = new Map<number, Gathering>();
  private lastId = 0;
  private stopping = false;
  private started = false;

  constructor(
    private readonly count: number,
    private readonly logger: Logger,
    private readonly drainTimeoutMs: number,
  ) {
    cluster.setupPrimary({ serialization: "advanced" });
  }

  /** Forks the workers; resolves with the URL once every one listens, rejects if one exits first. */
  start(): Promise<string> {
    return new Promise((resolve, reject) => {
      let url = "";
      const onReady = (slot: Slot, at: string) => {
        slot.ready = true;
        url = at;
        if (!this.started && this.slots.every((s) => s.ready)) {
          this.started = true;
          resolve(url);
        }
      };
      const onEarlyExit = (code: number) => {
        if (this.started) return;
        this.stopping = true;
        for (const slot of this.slots) slot.process.process.kill("SIGKILL");
        reject(new WorkerStartError(code));
      };
      for (let index = 0; index < this.count; index++)
        this.slots.push(this.fork(index, onReady, onEarlyExit));
    });
  }

  /** Reloads every worker's config from its file, as SIGHUP does for a single process. */
  reload(): void {
    for (const slot of this.slots) slot.process.process.kill("SIGHUP");
  }

  /** Drains every worker (each by its drain timeout) and resolves once all have exited. */
  async stop(signal: NodeJS.Signals): Promise<void> {
    this.stopping = true;
    const exits = this.slots
      .filter((slot) => !slot.process.isDead())
      .map((slot) => new Promise((resolve) => slot.process.once("exit", resolve)));
    for (const slot of this.slots) slot.process.process.kill(signal === "SIGINT" ? "SIGINT" : "SIGTERM");
    const guard = setTimeout(() => {
      for (const slot of this.slots) if (!slot.process.isDead()) slot.process.process.kill("SIGKILL");
    }, this.drainTimeoutMs + STOP_GRACE_MS);
    await Promise.all(exits);
    clearTimeout(guard);
  }

  private fork(
    index: number,
    onReady: (slot: Slot, url: string) => void,
    onEarlyExit: (code: number) => void,
  ): Slot {
    const slot: Slot = {
      index,
      process: cluster.fork({ [WORKER_ENV]: String(index) }),
      startedAt: performance.now(),
      ready: false,
    };
    this.watch(slot, onReady, onEarlyExit);
    return slot;
  }

  private watch(
    slot: Slot,
    onReady: (slot: Slot, url: string) => void,
    onEarlyExit: (code: number) => void,
  ): void {
    slot.process.on("message", (message: WorkerToPrimary) => {
      if (message?.weaver === "ready") onReady(slot, message.url);
      else if (message?.weaver === "gather") this.gather(slot, message.id, message.topic);
      else if (message?.weaver === "reported") this.reported(slot, message.id, message.value);
    });
    // An IPC write to a worker that just died: its exit is handled below.
    slot.process.on("error", () => {});
    slot.process.once("exit", (code, signal) => {
      slot.ready = false;
      for (const [id, gathering] of this.gatherings)
        if (gathering.waiting.delete(slot)) this.answerIfDone(id, gathering);
      if (this.stopping) return;
      if (!this.started) {
        onEarlyExit(code ?? 1);
        return;
      }
      const ranMs = performance.now() - slot.startedAt;
      this.logger.error(
        { worker: slot.index, pid: slot.process.process.pid, code, signal },
        "worker exited; starting another in its place",
      );
      setTimeout(
        () => {
          if (this.stopping) return;
          slot.process = cluster.fork({ [WORKER_ENV]: String(slot.index) });
          slot.startedAt = performance.now();
          this.watch(
            slot,
            (s) => {
              s.ready = true;
              this.logger.info({ worker: s.index, pid: s.process.process.pid }, "worker replaced");
            },
            () => {},
          );
        },
        ranMs < RESTART_BACKOFF_MS ? RESTART_BACKOFF_MS : 0,
      ).unref();
    });
  }

  private gather(requester: Slot, requesterId: number, topic: ReportTopic): void {
    const id = ++this.lastId;
    const waiting = new Set(this.slots.filter((slot) => slot.ready));
    const timer = setTimeout(() => this.answer(id), REPORT_TIMEOUT_MS);
    const gathering: Gathering = { requester, requesterId, waiting, reports: [], timer };
    this.gatherings.set(id, gathering);
    for (const slot of waiting) this.send(slot, { weaver: "report", id, topic });
    this.answerIfDone(id, gathering);
  }

  private reported(slot: Slot, id: number, value: unknown): void {
    const gathering = this.gatherings.get(id);
    if (gathering === undefined || !gathering.waiting.delete(slot)) return;
    if (value !== undefined)
      gathering.reports.push({ worker: slot.index, pid: slot.process.process.pid ?? 0, value });
    this.answerIfDone(id, gathering);
  }

  private answerIfDone(id: number, gathering: Gathering): void {
    if (gathering.waiting.size === 0) this.answer(id);
  }

  private answer(id: number): void {
    const gathering = this.gatherings.get(id);
    if (gathering === undefined) return;
    this.gatherings.delete(id);
    clearTimeout(gathering.timer);
    const reports = gathering.reports.sort((a, b) => a.worker - b.worker);
    this.send(gathering.requester, { weaver: "gathered", id: gathering.requesterId, reports });
  }

  private send(slot: Slot, message: PrimaryToWorker): void {
    if (!slot.process.isDead() && slot.process.isConnected()) slot.process.send(message, undefined, () => {});
  }
}
