import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type {
  Deployment,
  DeploymentWorkerHealth,
  ListModelsResponseSchema,
  PoolStatsResponseSchema,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { GatewayError } from "../errors/gateway-error.js";
import type { HealthState } from "../router/deployment-health.js";
import { type CountersSnapshot, type OriginSnapshot, sumCounters } from "../upstream/origin-counters.js";
import type { WorkerReport } from "../workers/worker-messages.js";
import { countersToProto, poolStatsToProto } from "./to-proto.js";

/**
 * The admin views of a gateway of several workers: each worker's report, summed into the view a
 * single process gives, with the per-worker breakdown beside it.
 */

/** What a worker reports for PoolStats. */
export interface PoolsReport {
  snapshot: { totals: CountersSnapshot; origins: OriginSnapshot[] };
  startedAt: Date;
}

/** What a worker reports for ListModels: the fields `modelsToProto` fills. */
export interface ModelsReport {
  models: { name: string; aliases: string[]; fallbacks: string[]; deployments: DeploymentView[] }[];
}

/** A message's fields, as a plain object (how a worker's report arrives over IPC). */
type Fields<T> = Omit<T, "$typeName" | "$unknown">;
type DeploymentView = Omit<Fields<Deployment>, "workers">;
type SummedDeployment = DeploymentView & { workers: Fields<DeploymentWorkerHealth>[] };

/** Origins summed by name, totals over them; started when the latest worker started. */
export function summedPoolStats(
  reports: WorkerReport<PoolsReport>[],
): MessageInitShape<typeof PoolStatsResponseSchema> {
  const byOrigin = new Map<string, OriginSnapshot[]>();
  for (const { value } of reports)
    for (const origin of value.snapshot.origins)
      byOrigin.set(origin.origin, [...(byOrigin.get(origin.origin) ?? []), origin]);
  const origins = [...byOrigin.values()].map((same) => ({
    origin: same[0]?.origin ?? "",
    // The latest connection's protocol: any worker that has connected knows it.
    protocol: same.find((o) => o.protocol !== "")?.protocol ?? "",
    pooling: same.every((o) => o.pooling),
    counters: sumCounters(same.map((o) => o.counters)),
  }));
  // The asking worker always reports; none at all would be a bug, not a view to sum.
  if (reports.length === 0)
    throw new GatewayError("unavailable", "no worker of the gateway reported its pools");
  const startedAt = new Date(Math.max(...reports.map(({ value }) => value.startedAt.getTime())));
  const summed = poolStatsToProto(
    { totals: sumCounters(origins.map((o) => o.counters)), origins },
    startedAt,
  );
  return {
    totals: summed.totals,
    origins: summed.origins,
    startedAt: summed.startedAt,
    workers: reports.map(({ worker, pid, value }) => ({
      worker,
      pid,
      startedAt: timestampFromDate(value.startedAt),
      totals: countersToProto(value.snapshot.totals),
    })),
  };
}

/** How bad a state is: the summed state is the worst any worker sees. */
const SEVERITY: Record<HealthState, number> = { healthy: 0, probing: 1, cooling_down: 2 };

/**
 * Each deployment's counts summed, its failures in a row and cooldown the longest any worker has,
 * and every worker's own view of it. Workers serve the same config; one caught halfway through a
 * reload adds the models it knows.
 */
export function summedModels(
  reports: WorkerReport<ModelsReport>[],
): MessageInitShape<typeof ListModelsResponseSchema> {
  const models = new Map<string, ModelsReport["models"][number]>();
  const deployments = new Map<string, SummedDeployment>();
  for (const { worker, value } of reports) {
    for (const model of value.models) {
      let summed = models.get(model.name);
      if (summed === undefined) {
        summed = { ...model, deployments: [] };
        models.set(model.name, summed);
      }
      model.deployments.forEach((deployment, i) => {
        const key = `${model.name}\u0000${i}\u0000${deployment.provider}\u0000${deployment.model}`;
        let total = deployments.get(key);
        if (total === undefined) {
          total = { ...deployment, ...NO_TRAFFIC, workers: [] };
          deployments.set(key, total);
          summed.deployments.push(total);
        }
        addWorkerView(total, worker, deployment);
      });
    }
  }
  return { models: [...models.values()] };
}

const NO_TRAFFIC = {
  state: "healthy",
  inFlight: 0,
  consecutiveFailures: 0,
  cooldownRemainingMs: 0,
  requestsTotal: 0n,
  failuresTotal: 0n,
} as const;

function addWorkerView(total: SummedDeployment, worker: number, view: DeploymentView): void {
  const { state, inFlight, consecutiveFailures, cooldownRemainingMs, requestsTotal, failuresTotal } = view;
  if (SEVERITY[state as HealthState] > SEVERITY[total.state as HealthState]) total.state = state;
  total.inFlight += inFlight;
  total.consecutiveFailures = Math.max(total.consecutiveFailures, consecutiveFailures);
  total.cooldownRemainingMs = Math.max(total.cooldownRemainingMs, cooldownRemainingMs);
  total.requestsTotal += requestsTotal;
  total.failuresTotal += failuresTotal;
  total.workers.push({
    worker,
    state,
    inFlight,
    consecutiveFailures,
    cooldownRemainingMs,
    requestsTotal,
    failuresTotal,
  });
}
