import { GatewayError } from "../errors/gateway-error.js";
import type {
  PrimaryToWorker,
  ReportTopic,
  WorkerReport,
  Workers,
  WorkerToPrimary,
} from "./worker-messages.js";

/** Longer than the primary's own wait for a slow worker: the primary answers with what it has first. */
const GATHER_TIMEOUT_MS = 5_000;

type Reporter = () => unknown;

/**
 * A worker's end of the IPC channel: answers the primary's requests for this worker's reports, and
 * gathers every worker's, through the primary, for an admin view of the whole gateway.
 */
export class WorkerLink implements Workers {
  private readonly reporters = new Map<ReportTopic, Reporter>();
  private readonly gatherings = new Map<number, (reports: WorkerReport[]) => void>();
  private lastId = 0;

  constructor(readonly worker: number) {
    process.on("message", (message: PrimaryToWorker) => this.onMessage(message));
  }

  /** How this worker reports on `topic`. */
  answer(topic: ReportTopic, reporter: Reporter): void {
    this.reporters.set(topic, reporter);
  }

  /** Tells the primary this worker serves. */
  ready(url: string): void {
    this.send({ weaver: "ready", url });
  }

  gather<T>(topic: ReportTopic): Promise<WorkerReport<T>[]> {
    const id = ++this.lastId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.gatherings.delete(id);
        reject(new GatewayError("unavailable", "the gateway's workers did not answer in time"));
      }, GATHER_TIMEOUT_MS);
      this.gatherings.set(id, (reports) => {
        clearTimeout(timer);
        resolve(reports as WorkerReport<T>[]);
      });
      this.send({ weaver: "gather", id, topic });
    });
  }

  private onMessage(message: PrimaryToWorker): void {
    if (message?.weaver === "gathered") {
      this.gatherings.get(message.id)?.(message.reports);
      this.gatherings.delete(message.id);
    } else if (message?.weaver === "report") {
      const reporter = this.reporters.get(message.topic);
      // A failed report is a missing one: the view shows the workers that answered.
      Promise.resolve()
        .then(() => reporter?.())
        .then(
          (value) => this.send({ weaver: "reported", id: message.id, value }),
          () => this.send({ weaver: "reported", id: message.id, value: undefined }),
        );
    }
  }

  private send(message: WorkerToPrimary): void {
    // The channel is gone only when the primary is: this worker is being stopped with it.
    process.send?.(message, undefined, undefined, () => {});
  }
}
