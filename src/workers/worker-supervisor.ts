import cluster, { type Worker } from "node:cluster";
import type { Logger } from "../log/logger.js";
import { RETIRED_WORKER, retainCounters, type WorkerMetrics } from "../metrics/summed-metrics.js";
import {
  type PrimaryToWorker,
  type ReportTopic,
  WORKER_ENV,
  type WorkerReport,
  type WorkerToPrimary,
} from "./worker-messages.js";

/** How long a gathering waits for a busy worker before answering with what it last reported. */
const REPORT_TIMEOUT_MS = 2_000;
/** The first wait before a worker that died while starting is started again; it doubles per death. */
const RESTART_BACKOFF_MS = 1_000;
const MAX_RESTART_BACKOFF_MS = 30_000;
/** Deaths in a row before listening after which the gateway stops: it would not start again. */
const MAX_START_DEATHS = 4;
/** How long past the drain timeout a stopping worker may take before it is killed. */
const STOP_GRACE_MS = 5_000;

interface Slot {
  readonly index: number;
  process: Worker;
  ready: boolean;
  /** Deaths in a row before this slot's worker was ready. */
  startDeaths: number;
  /** A SIGHUP that came while the worker was starting, passed on once it is ready. */
  reloadPending: boolean;
  /** Each topic's last report: stands in for a worker too busy to answer in time. */
  readonly lastReports: Map<ReportTopic, unknown>;
}

interface Gathering {
  readonly topic: ReportTopic;
  readonly requester: Slot;
  readonly requesterId: number;
  readonly waiting: Set<Slot>;
  readonly reports: WorkerReport[];
  readonly timer: NodeJS.Timeout;
}

/** Why the gateway did not start: a worker exited before it listened (its stderr says why). */
export class WorkerStartError extends Error {
  override name = "WorkerStartError";
  constructor(
    readonly exitCode: number,
    signal: string | null,
  ) {
    super(
      signal
        ? `a worker was killed by ${signal} before it listened`
        : `a worker exited with code ${exitCode} before it listened`,
    );
  }
}

export interface WorkerSupervisorOptions {
  count: number;
  /** Where every worker listens, whatever its config file says by the time it starts. */
  host: string;
  port: number;
  drainTimeoutMs: number;
  /** Called when a worker keeps dying before it listens: the gateway cannot serve as configured. */
  onGiveUp: () => void;
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
  /** The counters of workers that died, so that the summed ones never fall (Prometheus would see a reset). */
  private retiredMetrics: WorkerMetrics | undefined;
  private lastId = 0;
  private stopping = false;
  private started = false;

  constructor(
    private readonly options: WorkerSupervisorOptions,
    private readonly logger: Logger,
  ) {
    cluster.setupPrimary({ serialization: "advanced" });
  }

  /** Forks the workers; resolves with the URL once every one listens, rejects if one exits first. */
  start(): Promise<string> {
    return new Promise((resolve, reject) => {
      const onReady = (url: string) => {
        if (!this.started && this.slots.every((s) => s.ready)) {
          this.started = true;
          resolve(url);
        }
      };
      const onStartFailure = (code: number | null, signal: string | null) => {
        this.stopping = true;
        for (const slot of this.slots) slot.process.process.kill("SIGKILL");
        reject(new WorkerStartError(code ?? 1, signal));
      };
      for (let index = 0; index < this.options.count; index++) {
        const slot: Slot = {
          index,
          process: this.fork(index),
          ready: false,
          startDeaths: 0,
          reloadPending: false,
          lastReports: new Map(),
        };
        this.slots.push(slot);
        this.watch(slot, onReady, onStartFailure);
      }
    });
  }

  /** Reloads every worker's config from its file, as SIGHUP does for a single process. */
  reload(): void {
    for (const slot of this.slots) {
      if (slot.ready) slot.process.process.kill("SIGHUP");
      else slot.reloadPending = true;
    }
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
    }, this.options.drainTimeoutMs + STOP_GRACE_MS);
    await Promise.all(exits);
    clearTimeout(guard);
  }

  /** A worker on the primary's address: HOST and PORT override its file, as they do for any gateway. */
  private fork(index: number): Worker {
    const { host, port } = this.options;
    return cluster.fork({ [WORKER_ENV]: String(index), HOST: host, PORT: String(port) });
  }

  private watch(
    slot: Slot,
    onReady: (url: string) => void,
    onStartFailure: (code: number | null, signal: string | null) => void,
  ): void {
    slot.process.on("message", (message: WorkerToPrimary) => {
      if (message?.weaver === "ready") {
        slot.ready = true;
        slot.startDeaths = 0;
        if (this.started)
          this.logger.info({ worker: slot.index, pid: slot.process.process.pid }, "worker replaced");
        if (slot.reloadPending) slot.process.process.kill("SIGHUP");
        slot.reloadPending = false;
        onReady(message.url);
      } else if (message?.weaver === "gather") this.gather(slot, message.id, message.topic);
      else if (message?.weaver === "reported") this.reported(slot, message.id, message.value);
    });
    // An IPC write to a worker that just died: its exit is handled below.
    slot.process.on("error", () => {});
    slot.process.once("exit", (code, signal) => {
      const wasReady = slot.ready;
      slot.ready = false;
      for (const [id, gathering] of this.gatherings)
        if (gathering.waiting.delete(slot)) this.answerIfDone(id, gathering);
      void this.retire(slot);
      if (this.stopping) return;
      if (!this.started) {
        onStartFailure(code, signal);
        return;
      }
      this.replace(slot, wasReady, { code, signal }, onReady, onStartFailure);
    });
  }

  /**
   * Starts another worker in a dead one's place, at once if it had been serving, else after a
   * backoff that doubles per death; a worker that keeps dying before it listens stops the gateway.
   */
  private replace(
    slot: Slot,
    wasReady: boolean,
    exit: { code: number | null; signal: string | null },
    onReady: (url: string) => void,
    onStartFailure: (code: number | null, signal: string | null) => void,
  ): void {
    const pid = slot.process.process.pid;
    if (!wasReady && ++slot.startDeaths >= MAX_START_DEATHS) {
      this.logger.fatal(
        { worker: slot.index, pid, ...exit, deaths: slot.startDeaths },
        "a worker keeps dying before it listens; stopping the gateway",
      );
      this.options.onGiveUp();
      return;
    }
    const waitMs = wasReady
      ? 0
      : Math.min(MAX_RESTART_BACKOFF_MS, RESTART_BACKOFF_MS * 2 ** (slot.startDeaths - 1));
    this.logger.error(
      { worker: slot.index, pid, ...exit, waitMs },
      "worker exited; starting another in its place",
    );
    setTimeout(() => {
      if (this.stopping) return;
      slot.process = this.fork(slot.index);
      this.watch(slot, onReady, onStartFailure);
    }, waitMs).unref();
  }

  /** Keeps a dead worker's last counters in the summed /metrics. */
  private async retire(slot: Slot): Promise<void> {
    const last = slot.lastReports.get("metrics") as WorkerMetrics | undefined;
    slot.lastReports.clear();
    if (last !== undefined) this.retiredMetrics = await retainCounters(this.retiredMetrics, last);
  }

  private gather(requester: Slot, requesterId: number, topic: ReportTopic): void {
    const id = ++this.lastId;
    // Every live worker, warm or still warming: one that listens serves calls, so it counts.
    const waiting = new Set(this.slots.filter((slot) => slot.process.isConnected() || slot === requester));
    const timer = setTimeout(() => this.answer(id), REPORT_TIMEOUT_MS);
    const gathering: Gathering = { topic, requester, requesterId, waiting, reports: [], timer };
    this.gatherings.set(id, gathering);
    for (const slot of waiting) this.send(slot, { weaver: "report", id, topic });
    this.answerIfDone(id, gathering);
  }

  private reported(slot: Slot, id: number, value: unknown): void {
    const gathering = this.gatherings.get(id);
    if (gathering === undefined || !gathering.waiting.delete(slot)) return;
    if (value !== undefined) {
      slot.lastReports.set(gathering.topic, value);
      gathering.reports.push({ worker: slot.index, pid: slot.process.process.pid ?? 0, value });
    }
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
    const { reports, topic } = gathering;
    // A worker too busy to answer in time is shown as it last reported, not as gone.
    for (const slot of gathering.waiting) {
      const last = slot.lastReports.get(topic);
      if (last !== undefined)
        reports.push({ worker: slot.index, pid: slot.process.process.pid ?? 0, value: last });
    }
    reports.sort((a, b) => a.worker - b.worker);
    if (topic === "metrics" && this.retiredMetrics !== undefined)
      reports.push({ worker: RETIRED_WORKER, pid: 0, value: this.retiredMetrics });
    this.send(gathering.requester, { weaver: "gathered", id: gathering.requesterId, reports });
  }

  private send(slot: Slot, message: PrimaryToWorker): void {
    if (!slot.process.isDead() && slot.process.isConnected()) slot.process.send(message, undefined, () => {});
  }
}
