import { MiB, num, ratio, spread } from "../format.js";
import type { Measure, Rounds } from "../stats.js";
import type { ScenarioResult, Table } from "./context.js";
import { peersChartAndData } from "./peers-chart.js";
import { type PeersPlan, peersFigures, STREAM_LABEL, UPSTREAM_LABEL } from "./peers-figures.js";
import type { Peers } from "./peers-setup.js";
import { PACE_SIDES, STREAM_SIDES, type StreamSide } from "./peers-streams.js";
import { CONCURRENCIES, TOLERATED_FAILURES, unaryKey, unarySides, ZERO_DELAY } from "./peers-unary.js";

/** The peers scenario's tables and notes, from its rounds. */

export function peersReport(r: Rounds, peers: Peers, plan: PeersPlan, quick: boolean): ScenarioResult {
  const f = peersFigures(r);
  const { m, per, addedRatio, vsPortkey, grpcVsOpenai, h2VsH1, added, addedH2load, ttfdAdded } = f;
  const { grpcStreamEfficiency, pace, rssPeak } = f;
  const us = (x: Measure) => spread(x, 0, 1000);

  const throughput: Table = [
    [
      "OpenAI API, wrk over HTTP/1.1",
      "direct req/s",
      "weaver-gateway req/s",
      "Portkey req/s",
      "weaver ÷ Portkey",
      "upstream CPU % (weaver / Portkey runs)",
    ],
    ...ZERO_DELAY.flatMap((up) =>
      CONCURRENCIES.map((c) => [
        `${UPSTREAM_LABEL[up]}, c=${c}`,
        spread(m(`direct.${up}.c${c}.rps`)),
        spread(m(`weaver.${up}.c${c}.rps`)),
        spread(m(`portkey.${up}.c${c}.rps`)),
        ratio(vsPortkey(up, c)),
        `${num(m(`weaver.${up}.c${c}.upstreamShare`).median * 100)} / ${num(m(`portkey.${up}.c${c}.upstreamShare`).median * 100)}`,
      ]),
    ),
  ];
  const latency: Table = [
    ["added over direct at c=1 (µs)", "HTTP/1.1 upstream p50", "p99", "TLS upstream p50", "p99"],
    ...(["weaver", "portkey"] as const).map((via) => [
      `${via === "weaver" ? "weaver-gateway" : "Portkey"}, OpenAI API (wrk, HTTP/1.1)`,
      ...ZERO_DELAY.flatMap((up) => [us(added(via, up, "p50")), us(added(via, up, "p99"))]),
    ]),
    [
      "Portkey ÷ weaver-gateway",
      ...ZERO_DELAY.flatMap((up) => (["p50", "p99"] as const).map((p) => ratio(addedRatio(up, p)))),
    ],
    [
      "weaver-gateway, gRPC (h2load, h2c)",
      "",
      "",
      us(addedH2load("grpc", "p50")),
      us(addedH2load("grpc", "p99")),
    ],
    [
      "weaver-gateway, OpenAI API (h2load, h2c)",
      "",
      "",
      us(addedH2load("h2c", "p50")),
      us(addedH2load("h2c", "p99")),
    ],
  ];
  const cost: Table = [
    ["per request, memory, connections", "weaver-gateway", "Portkey", "Portkey ÷ weaver"],
    ...ZERO_DELAY.flatMap((up) =>
      ([16, 64] as const).map((c) => [
        `gateway CPU s per 1,000 requests, ${UPSTREAM_LABEL[up]}, c=${c}`,
        spread(m(`weaver.${up}.c${c}.cpuPer1k`), 3),
        spread(m(`portkey.${up}.c${c}.cpuPer1k`), 3),
        ratio(per(`portkey.${up}.c${c}.cpuPer1k`, `weaver.${up}.c${c}.cpuPer1k`)),
      ]),
    ),
    [
      "RSS idle, before any request (MiB)",
      num(peers.idleRss.weaver / MiB, 1),
      num(peers.idleRss.portkey / MiB, 1),
      num(peers.idleRss.portkey / peers.idleRss.weaver, 2),
    ],
    [
      "RSS peak under c=64 (MiB; median of runs, highest)",
      `${num(rssPeak("weaver").median, 1)} (${num(rssPeak("weaver").max, 1)})`,
      `${num(rssPeak("portkey").median, 1)} (${num(rssPeak("portkey").max, 1)})`,
      num(rssPeak("portkey").median / rssPeak("weaver").median, 2),
    ],
    ...ZERO_DELAY.map((up) => [
      `upstream connections open after c=64, ${UPSTREAM_LABEL[up]}`,
      spread(m(`weaver.${up}.c64.connections`)),
      spread(m(`portkey.${up}.c64.connections`)),
      "",
    ]),
  ];
  const grpc: Table = [
    [
      "weaver-gateway, TLS upstream",
      "gRPC req/s (h2load, h2c)",
      "OpenAI API req/s (h2load, h2c)",
      "gRPC ÷ OpenAI API (h2c)",
      "OpenAI API req/s (wrk, HTTP/1.1)",
      "gRPC ÷ OpenAI API (HTTP/1.1)",
      "CPU ms per call, gRPC / OpenAI API (h2c)",
    ],
    ...CONCURRENCIES.map((c) => [
      `c=${c}`,
      spread(m(`h2load.grpc.c${c}.rps`)),
      spread(m(`h2load.h2c.c${c}.rps`)),
      ratio(grpcVsOpenai(c)),
      spread(m(`weaver.h2.c${c}.rps`)),
      ratio(per(`h2load.grpc.c${c}.rps`, `weaver.h2.c${c}.rps`)),
      `${num(m(`h2load.grpc.c${c}.cpuPer1k`).median, 3)} / ${num(m(`h2load.h2c.c${c}.cpuPer1k`).median, 3)}`,
    ]),
  ];
  const streamRow = (
    label: string,
    prefix: string,
    sides: readonly StreamSide[],
    cell: (key: string, side: StreamSide) => string,
  ) => [label, ...sides.map((side) => cell(`${prefix}.${side}`, side))];
  const s100 = STREAM_SIDES;
  const streams100: Table = [
    [`100 streams × ${plan.deltas} deltas, ${plan.gapMs} ms apart`, ...s100.map((s) => STREAM_LABEL[s])],
    streamRow(
      "streams completed (failed)",
      "s100",
      s100,
      (k) => `${spread(m(`${k}.ok`))} (${num(m(`${k}.errors`).max)})`,
    ),
    streamRow("time to first delta p50 (ms)", "s100", s100, (k) => spread(m(`${k}.ttfdP50`), 1)),
    streamRow("added time to first delta p50 (ms)", "s100", s100, (_, s) =>
      s === "direct" ? "" : spread(ttfdAdded("s100", s), 1),
    ),
    streamRow("time to first delta p99 (ms)", "s100", s100, (k) => spread(m(`${k}.ttfdP99`), 1)),
    streamRow("stream duration p50 (ms)", "s100", s100, (k) => spread(m(`${k}.durationP50`))),
    streamRow("gateway CPU µs per delta", "s100", s100, (k, s) =>
      s === "direct" ? "" : spread(m(`${k}.cpuPerDeltaUs`), 1),
    ),
  ];
  const s1000 = PACE_SIDES;
  const streams1000: Table = [
    [`1,000 streams × ${plan.deltas} deltas, ${plan.gapMs} ms apart`, ...s1000.map((s) => STREAM_LABEL[s])],
    streamRow(
      "streams completed (failed)",
      "s1000",
      s1000,
      (k) => `${spread(m(`${k}.ok`))} (${num(m(`${k}.errors`).max)})`,
    ),
    streamRow("deltas delivered per second", "s1000", s1000, (k) => spread(m(`${k}.deltasPerSecond`))),
    streamRow("pace: deltas per second ÷ direct", "s1000", s1000, (_, s) =>
      s === "direct" ? "" : ratio(pace(s)),
    ),
    streamRow("time to first delta p50 (ms)", "s1000", s1000, (k) => spread(m(`${k}.ttfdP50`), 1)),
    streamRow("stream duration p50 (ms)", "s1000", s1000, (k) => spread(m(`${k}.durationP50`))),
    streamRow("gateway CPU µs per delta", "s1000", s1000, (k, s) =>
      s === "direct" ? "" : spread(m(`${k}.cpuPerDeltaUs`), 1),
    ),
    streamRow("gateway RSS peak (MiB)", "s1000", s1000, (k, s) =>
      s === "direct" ? "" : spread(m(`${k}.rssPeak`), 0, 1 / MiB),
    ),
    streamRow("upstream connections open after", "s1000", s1000, (k, s) =>
      s === "direct" ? "4 (TLS h2)" : spread(m(`${k}.connections`)),
    ),
  ];
  const verdict = (x: Measure, bar: number) =>
    Number.isFinite(x.median) ? `${ratio(x)}: ${x.median >= bar ? "met" : "NOT met"}` : "not measured";
  const targets: Table = [
    ["target", "figure (median of rounds, lowest–highest)"],
    ...ZERO_DELAY.flatMap((up) =>
      ([16, 64] as const).map((c) => [
        `req/s ≥ 6× Portkey, ${UPSTREAM_LABEL[up]}, c=${c}`,
        verdict(vsPortkey(up, c), 6),
      ]),
    ),
    ...([16, 64] as const).map((c) => [
      `TLS HTTP/2 upstream ≥ HTTP/1.1 upstream (req/s), c=${c}`,
      verdict(h2VsH1(c), 1),
    ]),
    ...CONCURRENCIES.map((c) => [
      `gRPC Generate ≥ 0.8× OpenAI API (req/s, both h2c), c=${c}`,
      verdict(grpcVsOpenai(c), 0.8),
    ]),
    [
      "gRPC streaming ≥ 0.8× OpenAI-API streaming (deltas per CPU second, 100 streams)",
      verdict(grpcStreamEfficiency, 0.8),
    ],
    [
      "1,000 concurrent streams keep the upstream's pace (deltas per second ≥ 0.95× direct)",
      verdict(pace("weaver"), 0.95),
    ],
  ];

  const loadBound = unarySides(quick)
    .filter((side) => side.tool === "wrk" && side.via !== "direct")
    .map(unaryKey)
    .filter((key) => m(`${key}.loadCoreShare`).median >= 0.9 && m(`${key}.gatewayShare`).median < 0.9);
  const directShare = Math.max(
    ...unarySides(quick)
      .filter((side) => side.tool === "wrk" && side.via === "direct")
      .map((side) => m(`${unaryKey(side)}.upstreamShare`).median),
  );
  const failed = (via: string) =>
    unarySides(quick)
      .filter((side) => side.tool === "wrk" && side.via === via)
      .reduce((sum, side) => sum + r.get(`${unaryKey(side)}.failed`).reduce((a, b) => a + b, 0), 0);
  const empty = unarySides(quick)
    .map(unaryKey)
    .filter((key) => r.get(`${key}.empty`).some((e) => e > 0))
    .map((key) => `${key} (${r.get(`${key}.empty`).filter((e) => e > 0).length})`);
  const whole = (["s100", "s1000"] as const).flatMap((prefix) =>
    STREAM_SIDES.filter((side) => side !== "direct")
      .filter(
        (side) => m(`${prefix}.${side}.ttfdP50`).median >= 0.9 * m(`${prefix}.${side}.durationP50`).median,
      )
      .map((side) => `${STREAM_LABEL[side]} at ${prefix === "s100" ? "100" : "1,000"} streams`),
  );
  const met = targets.slice(1).filter(([, figure]) => figure?.endsWith(": met")).length;
  const notes = [
    `Targets met: ${met} of ${targets.length - 1} (last table). Calls that failed in measured unary runs (a gateway shedding load, ` +
      `up to ${TOLERATED_FAILURES * 100}% of a run): weaver-gateway ${failed("weaver")}, Portkey ${failed("portkey")}.` +
      (empty.length === 0
        ? ""
        : ` Runs in which no call completed, left out of the figures: ${empty.join(", ")}; the machine was too busy for runs this short.`),
    "Unary: wrk (HTTP/1.1, a connection per request in flight) drives both gateways' OpenAI API and the upstreams directly; " +
      "direct to the TLS upstream is wrk over TLS HTTP/1.1 (wrk has no HTTP/2). h2load drives this gateway over h2c (one " +
      "connection, c streams): gRPC Generate (length-prefixed protobuf, content-type application/grpc, te: trailers; h2load " +
      "cannot read trailers, so one call is checked for grpc-status 0 first and every response must carry a message) and " +
      "the OpenAI API; its direct baseline at c=1 is h2load over TLS HTTP/2. Added = through a gateway minus direct, per round.",
    `Both gateways get the same warm-up first: ${plan.warmUpSeconds} s of wrk at c=16 per zero-delay upstream, then a discarded round${quick ? " of the h2load paths" : ""}` +
      `${plan.warmUpSeconds < 5 ? " (shorter than Portkey's 5 slow seconds or the ~10,000 calls this gateway's CPU per call needs to settle: --quick figures favour neither reliably)" : ""}. ` +
      `Each unary run lasts ${plan.runMs} ms; ${plan.unaryRounds} measured round${plan.unaryRounds === 1 ? "" : "s"}` +
      `${quick ? " (--quick: one round, figures without spread)" : ""}.`,
    `Upstream CPU share: up to ${num(directShare * 100)}% of a core when wrk drives it directly; the upstream and the load tools share the load core(s). ` +
      (loadBound.length === 0
        ? "No gateway run had its load cores at ≥ 90% while the gateway stayed under 90%: the gateways, not the upstream or the load tools, set the figures."
        : `Load cores at ≥ 90% while the gateway was under 90% in ${loadBound.join(", ")}: those figures are the upstream's and the load tools', not the gateway's.`),
    `This gateway reaches the HTTP/1.1 upstream through at most 4 keep-alive sockets (its pool's max_connections), the TLS upstream ` +
      "over HTTP/2 on one or a few connections; Portkey always speaks HTTP/1.1 upstream, one connection per request in flight.",
    `Streams: stream: true chat completions from an upstream sending a delta every ${plan.gapMs} ms; the gateways' OpenAI API read over ` +
      "HTTP/1.1 by the bench's load generator (undici, one connection per stream), gRPC GenerateStream over h2c, direct over TLS HTTP/2 " +
      `as this gateway's pool reads it. CPU per delta is the gateway's CPU time during the run over the deltas delivered. ` +
      `Portkey adds ${spread(ttfdAdded("s100", "portkey"), 1)} ms to the first delta (the notes measured a fixed 25–28 ms per stream), ` +
      `this gateway ${spread(ttfdAdded("s100", "weaver"), 1)} ms over its OpenAI API and ${spread(ttfdAdded("s100", "weaver-grpc"), 1)} ms over gRPC. ` +
      (quick
        ? "1,000 streams: without --quick only. "
        : `1,000 streams: ${plan.paceRounds} round(s), all started at once; ` +
          `the upstream's pace is 1,000 × ${1000 / plan.gapMs} = ${num((1000 * 1000) / plan.gapMs)} deltas per second.`) +
      (whole.length === 0
        ? ""
        : ` ${whole.join(" and ")}: the first delta came about when the stream ended (time to first delta p50 ≥ 90% of the duration p50), so those streams arrived whole, not as they were made.`),
    "Portkey (@portkey-ai/gateway 1.15.2, bench/peers, with @hono/node-server 1.13.5 and hono 4.9.7 forced: later ones break streaming) " +
      "runs as its README says (start-server.js --headless) on the same Node and core; this gateway runs with its deployed flags " +
      "and LOG_LEVEL as every scenario; both log a line per request.",
  ];

  const { chart, data } = peersChartAndData(f, peers, quick);
  return {
    params: { ...plan, concurrencies: CONCURRENCIES, maxTokens: 16, portkey: "@portkey-ai/gateway 1.15.2" },
    tables: [throughput, latency, cost, grpc, streams100, ...(quick ? [] : [streams1000]), targets],
    notes,
    data,
    chart,
  };
}
