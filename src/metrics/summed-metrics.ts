import {
  AggregatorRegistry,
  type MetricObjectWithValues,
  type MetricValue,
  type Registry,
  type RegistryContentType,
} from "prom-client";
import type { WorkerReport, Workers } from "../workers/worker-messages.js";

export type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];

/** The number under which the counters of workers that died are reported: summed, not broken down. */
export const RETIRED_WORKER = -1;

/** A few of each worker's numbers, shown per worker beside the sums: where the load and memory went. */
const BREAKDOWN = [
  "weaver_process_cpu_seconds_total",
  "weaver_process_resident_memory_bytes",
  "weaver_calls_in_flight",
  "weaver_rpc_requests_total",
  "weaver_pool_requests_total",
];

/**
 * /metrics for a gateway of several workers: every worker's series summed as prom-client's cluster
 * aggregation does (so dashboards written for one process read the same), with the counters of
 * workers that died kept in (so a summed counter never falls, which Prometheus would read as a
 * reset), the pool reuse ratio recomputed from the sums, and `weaver_worker_*` families with a
 * `worker` label for the breakdown, under names of their own so that no sum counts a worker twice.
 */
export async function summedExposition(workers: Workers): Promise<{ contentType: string; body: string }> {
  const reports = await workers.gather<WorkerMetrics>("metrics");
  const summed = AggregatorRegistry.aggregate(reports.map(({ value }) => value));
  await recomputeReuseRatio(summed);
  return { contentType: summed.contentType, body: (await summed.metrics()) + breakdown(reports) };
}

/** A ratio does not add up: the summed one is the summed reused requests over the summed requests. */
async function recomputeReuseRatio(summed: Registry<RegistryContentType>): Promise<void> {
  const values = async (name: string) =>
    ((await summed.getSingleMetric(name)?.get()) as MetricObjectWithValues<MetricValue<string>> | undefined)
      ?.values ?? [];
  const [ratios, requests, reused] = await Promise.all(
    [
      "weaver_pool_reuse_ratio",
      "weaver_pool_requests_total",
      "weaver_pool_requests_on_reused_connections_total",
    ].map(values),
  );
  const same = (all: MetricValue<string>[] | undefined, labels: object) =>
    all?.find((v) => JSON.stringify(v.labels) === JSON.stringify(labels))?.value ?? 0;
  for (const ratio of ratios ?? []) {
    const sent = same(requests, ratio.labels);
    ratio.value = sent === 0 ? 0 : same(reused, ratio.labels) / sent;
  }
}

/** The metric types that only grow. */
const GROWING = new Set(["counter", "histogram"]);

/**
 * What of a dead worker's metrics stays in the sums: its counters and histograms, which only grow
 * (a gauge is a reading of now, gone with the worker), added to those of the workers before it.
 */
export async function retainCounters(
  retired: WorkerMetrics | undefined,
  last: WorkerMetrics,
): Promise<WorkerMetrics> {
  const growing = last.filter((metric) => GROWING.has(String(metric.type)));
  const merged = AggregatorRegistry.aggregate(retired ? [retired, growing] : [growing]);
  return (await merged.getMetricsAsJSON()) as WorkerMetrics;
}

function breakdown(all: WorkerReport<WorkerMetrics>[]): string {
  const reports = all.filter(({ worker }) => worker !== RETIRED_WORKER);
  const lines: string[] = [];
  for (const name of BREAKDOWN) {
    const family = `weaver_worker_${name.slice("weaver_".length)}`;
    const type = reports[0]?.value.find((metric) => metric.name === name)?.type ?? "gauge";
    lines.push(`# HELP ${family} ${name} of each worker (server.workers), over all its labels.`);
    lines.push(`# TYPE ${family} ${type}`);
    for (const { worker, value } of reports) {
      const metric = value.find((m) => m.name === name);
      const total = metric?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
      lines.push(`${family}{worker="${worker}"} ${total}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
