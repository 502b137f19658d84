/**
 * What the primary and its workers say to each other over the cluster's IPC channel (advanced
 * serialization: bigints and nested objects pass as they are).
 */

/** What a worker can be asked to report of itself. */
export type ReportTopic = "pools" | "models" | "metrics";

/** One worker's answer to a gathering. */
export interface WorkerReport<T = unknown> {
  /** 0 to server.workers - 1; a replaced worker keeps its number. */
  worker: number;
  pid: number;
  value: T;
}

/** Asks every worker of this gateway, this one included, for its report on `topic`. */
export interface Workers {
  gather<T>(topic: ReportTopic): Promise<WorkerReport<T>[]>;
}

export type WorkerToPrimary =
  /** Listening and warm: the gateway is up once every worker says so. */
  | { weaver: "ready"; url: string }
  /** Ask every worker for its report; the answer comes back as `gathered`. */
  | { weaver: "gather"; id: number; topic: ReportTopic }
  /** This worker's report, asked for by `report`. */
  | { weaver: "reported"; id: number; value: unknown };

export type PrimaryToWorker =
  | { weaver: "report"; id: number; topic: ReportTopic }
  | { weaver: "gathered"; id: number; reports: WorkerReport[] };

/** The environment variable that tells a worker its number. */
export const WORKER_ENV = "WEAVER_WORKER";
