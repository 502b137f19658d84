import { type Bar, type ChartPanel, renderChart, type Tone } from "../chart.js";
import { MiB } from "../format.js";
import { median } from "../stats.js";
import { CALL_KINDS } from "./call-mix.js";
import { mib, type SoakResult, type TimedSample } from "./soak.js";
import type { TrendVerdict } from "./trend.js";

/** The soak's text summary and its SVG: each sampled figure over time, and the calls by outcome. */

/** The chart shows the run in this many time slices: one bar each, the median with its min–max. */
const SLICES = 12;

interface Figure {
  title: string;
  unit: string;
  value: (s: TimedSample) => number;
}

const FIGURES: Figure[] = [
  { title: "RSS", unit: "MiB", value: (s) => s.rssBytes / MiB },
  { title: "Live heap after a full GC", unit: "MiB", value: (s) => s.liveHeapBytes / MiB },
  {
    title: "External memory (Buffers, ArrayBuffers) after a full GC",
    unit: "MiB",
    value: (s) => s.externalBytes / MiB,
  },
  { title: "Open file descriptors", unit: "fds", value: (s) => s.fds },
  { title: "Open sockets", unit: "sockets", value: (s) => s.sockets },
  { title: "Upstream TCP connections", unit: "conns", value: (s) => s.tcp.upstream },
  { title: "Upstream requests in flight (PoolStats)", unit: "requests", value: (s) => s.pool.inFlight },
];

/** True when the run should fail: a rising live heap or fd count, a call sent twice, or a gateway that died. */
export function failed(result: SoakResult): boolean {
  return (
    result.gatewayFailure !== undefined ||
    result.trends.liveHeap.rising ||
    result.trends.fds.rising ||
    result.upstream.callsSentTwice > 0
  );
}

export function summary(result: SoakResult): string {
  const { samples, calls, upstream, trends } = result;
  const before = samples.find((s) => s.phase === "before");
  const lastLoad = samples.filter((s) => s.phase === "load").at(-1);
  const after = samples.find((s) => s.phase === "after");
  const column = (s: TimedSample | undefined, pick: (s: TimedSample) => string) =>
    (s ? pick(s) : "–").padStart(12);
  const row = (label: string, pick: (s: TimedSample) => string) =>
    `  ${label.padEnd(26)}${column(before, pick)}${column(lastLoad, pick)}${column(after, pick)}`;
  const lines = [
    `weaver-gateway soak: ${(result.options.durationMs / 1000).toFixed(0)} s at ${result.options.rate} calls/s, seed ${result.options.seed}` +
      `${(result.options.kinds?.length ?? CALL_KINDS.length) < CALL_KINDS.length ? `, only ${result.options.kinds?.join(",")}` : ""}`,
    `${result.startedAt} · Node ${result.node} · ${result.cores} cores · load average ${result.loadAverage.map((l) => l.toFixed(1)).join(" → ")}`,
    "",
    `  ${"".padEnd(26)}${"start".padStart(12)}${"end of load".padStart(12)}${"settled".padStart(12)}`,
    row("RSS", (s) => mib(s.rssBytes)),
    row("live heap (after GC)", (s) => mib(s.liveHeapBytes)),
    row("V8 heap reserved", (s) => mib(s.heapTotalBytes)),
    row("external (Buffers)", (s) => mib(s.externalBytes)),
    row("open fds", (s) => String(s.fds)),
    row("sockets (all kinds)", (s) => String(s.sockets)),
    row("TCP: callers / upstream", (s) => `${s.tcp.callers} / ${s.tcp.upstream}`),
    row("pool in flight / queued", (s) => `${s.pool.inFlight} / ${s.pool.queued}`),
    row("pool connections", (s) => String(s.pool.activeConnections)),
    "",
    `  live heap: ${verdict(trends.liveHeap, (v) => mib(v))}`,
    `  open fds:  ${verdict(trends.fds, (v) => v.toFixed(1))}`,
    "",
    `calls: ${calls.started} started, ${calls.skipped} skipped (too many open)`,
    ...outcomeLines(result),
    `upstream: ${upstream.requests} requests for planned calls, ${upstream.callsSentTwice} calls sent twice (again after one had reached the upstream for good); ` +
      `open after: ${Object.entries(upstream.openAfter)
        .map(([name, o]) => `${name} ${o.connections} connections / ${o.streams} streams`)
        .join(", ")}`,
  ];
  if (after && after.pool.inFlight > 0)
    lines.push(
      `  PoolStats in_flight is ${after.pool.inFlight} once the load has settled, with no call open: it should be 0`,
    );
  const failure = result.gatewayFailure;
  if (failure) {
    lines.push(
      "",
      `THE GATEWAY FAILED: ${failure.reason}`,
      failure.stderr.trimEnd(),
      "calls open at the last sample it answered, or started since (planned calls first):",
    );
    for (const call of failure.openCalls)
      lines.push(
        `  ${call.kind} ${call.method} ${call.model} open ${call.openForMs} ms ${JSON.stringify(call.fault ?? {})}`,
      );
  }
  lines.push("", failed(result) ? "FAILED" : "passed: no rising live heap or fd count, no call sent twice");
  return `${lines.join("\n")}\n`;
}

function verdict(v: TrendVerdict, format: (value: number) => string): string {
  if (!v.judged)
    return `not judged: ${v.samples} samples after a ${(v.warmupMs / 1000).toFixed(0)} s warm-up`;
  return (
    `${v.rising ? "RISING" : "flat"}: first third ${format(v.firstThirdMedian)} → last third ${format(v.lastThirdMedian)}` +
    ` (growth ${format(v.growth)}, Theil–Sen ${format(v.slopePerMinute)}/min → ${format(v.projectedGrowth)} over the window;` +
    ` tolerance ${format(v.tolerance)}; ${v.samples} samples after ${(v.warmupMs / 1000).toFixed(0)} s warm-up)`
  );
}

/** Calls by outcome: one row per gRPC status, one column per kind of call. */
function outcomeLines(result: SoakResult): string[] {
  const { outcomes, examples } = result.calls;
  const statuses = [...new Set(CALL_KINDS.flatMap((k) => Object.keys(outcomes[k])))].sort();
  const cells = (first: string, rest: string[]) =>
    `  ${first.padEnd(20)}${rest.map((c) => c.padStart(16)).join("")}`;
  const lines = [cells("", [...CALL_KINDS])];
  for (const status of statuses)
    lines.push(
      cells(
        status,
        CALL_KINDS.map((k) => String(outcomes[k][status] ?? 0)),
      ),
    );
  // Statuses that no fault should produce: their messages say where to look.
  for (const [key, detail] of Object.entries(examples).filter(([key]) => /UNKNOWN|INTERNAL/.test(key)))
    lines.push(`  e.g. ${key}: ${detail}`);
  return lines;
}

/** One panel per figure over time, then the calls by outcome; drawn with the bench's bar chart. */
export function soakChart(result: SoakResult): string {
  const panels: ChartPanel[] = FIGURES.map((figure) => ({
    title: figure.title,
    unit: figure.unit,
    bars: slices(result.samples, figure),
  }));
  const tones: Record<string, Tone> = { OK: "d", CANCELLED: "c", DEADLINE_EXCEEDED: "b" };
  panels.push({
    title: "Calls by kind and outcome",
    unit: "calls",
    bars: CALL_KINDS.flatMap((kind) =>
      Object.entries(result.calls.outcomes[kind]).map(([status, count]) => ({
        label: `${kind} ${status}`,
        value: count,
        tone: tones[status] ?? "a",
      })),
    ),
  });
  const { options, trends } = result;
  return renderChart(
    `weaver-gateway soak: ${(options.durationMs / 1000).toFixed(0)} s at ${options.rate} calls/s`,
    [
      `${result.startedAt.slice(0, 16).replace("T", " ")} UTC · ${result.cores} cores · seed ${options.seed} · ` +
        `live heap ${trends.liveHeap.rising ? "RISING" : "flat"} · fds ${trends.fds.rising ? "RISING" : "flat"}`,
      "Each bar: the median sample of a slice of the run, whiskers min–max; grey: before and after the load",
    ],
    panels,
  );
}

/** The samples cut into time slices: before the load, SLICES slices of it, after it. */
function slices(samples: TimedSample[], figure: Figure): Bar[] {
  const load = samples.filter((s) => s.phase === "load");
  const endMs = load.at(-1)?.atMs ?? 0;
  const bars: Bar[] = [];
  const bar = (label: string, group: TimedSample[], tone: Tone) => {
    if (group.length === 0) return;
    const values = group.map(figure.value);
    bars.push({ label, value: median(values), min: Math.min(...values), max: Math.max(...values), tone });
  };
  bar(
    "before the load",
    samples.filter((s) => s.phase === "before"),
    "c",
  );
  for (let i = 0; i < SLICES; i++) {
    const [from, to] = [(endMs * i) / SLICES, (endMs * (i + 1)) / SLICES];
    const group = load.filter((s) => s.atMs > from && s.atMs <= to);
    bar(`${clock(from)}–${clock(to)}`, group, "a");
  }
  bar(
    "after, settled",
    samples.filter((s) => s.phase === "after"),
    "c",
  );
  return bars;
}

function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
