import { alignedLines } from "./aligned-lines.js";

/** The response cache's counters from a gateway's /metrics, as a table a person reads: one row per model. */

const COLUMNS = ["model", "lookups", "hits", "misses", "hit rate", "coalesced", "stored bytes"] as const;

interface ModelCounts {
  hit: number;
  miss: number;
  coalesced: number;
  stored: number;
}

/** Undefined when the gateway has looked nothing up in its cache yet. */
export function cacheStatsTable(metricsText: string): string | undefined {
  const models = new Map<string, ModelCounts>();
  const counts = (model: string) => {
    let found = models.get(model);
    if (found === undefined) {
      found = { hit: 0, miss: 0, coalesced: 0, stored: 0 };
      models.set(model, found);
    }
    return found;
  };
  let bytes: number | undefined;
  let evictions: number | undefined;
  for (const { name, labels, value } of samples(metricsText)) {
    if (name === "weaver_cache_lookups_total" && (labels.result === "hit" || labels.result === "miss"))
      counts(labels.model ?? "")[labels.result] += value;
    else if (name === "weaver_cache_coalesced_total") counts(labels.model ?? "").coalesced += value;
    else if (name === "weaver_cache_stored_bytes_total") counts(labels.model ?? "").stored += value;
    else if (name === "weaver_cache_bytes") bytes = value;
    else if (name === "weaver_cache_evictions_total") evictions = value;
  }
  if (models.size === 0) return undefined;
  const rows = [...models].map(([model, c]) => {
    const lookups = c.hit + c.miss;
    const rate = lookups === 0 ? "-" : `${((100 * c.hit) / lookups).toFixed(1)}%`;
    return [model, lookups, c.hit, c.miss, rate, c.coalesced, c.stored].map(String);
  });
  const held = bytes === undefined ? "in Redis" : `${bytes} bytes held in process, ${evictions ?? 0} evicted`;
  return [`response cache (${held})`, ...alignedLines([COLUMNS, ...rows], 1)].join("\n");
}

/** The samples of a Prometheus text exposition: metric name, labels, value. */
function* samples(text: string): Generator<{ name: string; labels: Record<string, string>; value: number }> {
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[key as string] = (value as string).replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    yield { name: match[1] as string, labels, value: Number(match[3]) };
  }
}
