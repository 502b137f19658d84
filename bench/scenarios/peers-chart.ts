import type { Bar, ChartPanel } from "../chart.js";
import { MiB } from "../format.js";
import type { Measure } from "../stats.js";
import { type PeersFigures, STREAM_LABEL } from "./peers-figures.js";
import type { Peers } from "./peers-setup.js";
import { STREAM_SIDES } from "./peers-streams.js";
import { CONCURRENCIES, unaryKey, unarySides, ZERO_DELAY } from "./peers-unary.js";

/** The peers scenario's chart panels and JSON figures. */

export function peersChartAndData(
  f: PeersFigures,
  peers: Peers,
  quick: boolean,
): { chart: ChartPanel[]; data: Record<string, unknown> } {
  const { r, m, ttfdAdded, vsPortkey, grpcVsOpenai, grpcStreamEfficiency, pace, rssPeak } = f;
  const tone = (via: string) => (via === "weaver" ? ("a" as const) : ("b" as const));
  const bar = (label: string, x: Measure, t: Bar["tone"]): Bar => ({
    label,
    value: x.median,
    min: x.min,
    max: x.max,
    tone: t,
  });
  const chart: ChartPanel[] = [
    {
      title: "peers: OpenAI API req/s, weaver-gateway (blue) vs Portkey (orange), same core",
      unit: "req/s",
      bars: ZERO_DELAY.flatMap((up) =>
        CONCURRENCIES.flatMap((c) =>
          (["weaver", "portkey"] as const).map((via) =>
            bar(
              `${via === "weaver" ? "weaver" : "Portkey"} ${up === "h1" ? "HTTP/1.1" : "TLS"} c=${c}`,
              m(`${via}.${up}.c${c}.rps`),
              tone(via),
            ),
          ),
        ),
      ),
    },
    {
      title: "peers: weaver-gateway gRPC (blue) vs OpenAI API (green) req/s, h2load over h2c",
      unit: "req/s",
      bars: CONCURRENCIES.flatMap((c) => [
        bar(`gRPC c=${c}`, m(`h2load.grpc.c${c}.rps`), "a"),
        bar(`OpenAI API c=${c}`, m(`h2load.h2c.c${c}.rps`), "d"),
      ]),
    },
    {
      title: "peers: added time to first delta, 100 streams (lower is better)",
      unit: "ms",
      bars: (["weaver", "weaver-grpc", "portkey"] as const).map((s) =>
        bar(STREAM_LABEL[s], ttfdAdded("s100", s), s === "portkey" ? "b" : "a"),
      ),
    },
  ];

  const data: Record<string, unknown> = {
    idleRssMiB: { weaver: peers.idleRss.weaver / MiB, portkey: peers.idleRss.portkey / MiB },
    rssPeakC64MiB: { weaver: rssPeak("weaver"), portkey: rssPeak("portkey") },
  };
  for (const side of unarySides(quick)) {
    const key = unaryKey(side);
    for (const k of [
      "rps",
      "p50",
      "p99",
      "cpuPer1k",
      "gatewayShare",
      "upstreamShare",
      "loadCoreShare",
      "connections",
    ])
      if (r.get(`${key}.${k}`).length > 0) data[`${key}.${k}`] = m(`${key}.${k}`);
  }
  for (const prefix of ["s100", "s1000"]) {
    for (const side of STREAM_SIDES) {
      for (const k of [
        "ok",
        "errors",
        "ttfdP50",
        "ttfdP99",
        "durationP50",
        "deltasPerSecond",
        "cpuPerDeltaUs",
        "rssPeak",
        "connections",
      ])
        if (r.get(`${prefix}.${side}.${k}`).length > 0)
          data[`${prefix}.${side}.${k}`] = m(`${prefix}.${side}.${k}`);
    }
  }
  for (const up of ZERO_DELAY)
    for (const c of CONCURRENCIES) data[`weaverOverPortkey.${up}.c${c}`] = vsPortkey(up, c);
  for (const c of CONCURRENCIES) data[`grpcOverOpenai.c${c}`] = grpcVsOpenai(c);
  data.grpcStreamEfficiency = grpcStreamEfficiency;
  data.paceWeaver = pace("weaver");
  data.pacePortkey = pace("portkey");

  return { chart, data };
}
