import { MiB } from "../format.js";
import { diffMeasure, type Measure, measure, type Rounds, ratioMeasure } from "../stats.js";
import type { UpstreamKind } from "./peers-setup.js";
import type { StreamSide } from "./peers-streams.js";

/** The peers scenario's figures from its rounds: medians, per-round ratios and differences, by name. */

export interface PeersPlan {
  warmUpSeconds: number;
  runMs: number;
  unaryRounds: number;
  deltas: number;
  streamRounds: number;
  paceRounds: number;
  gapMs: number;
}

export const UPSTREAM_LABEL: Record<UpstreamKind, string> = {
  h1: "HTTP/1.1 upstream",
  h2: "TLS upstream",
  paced: "paced TLS upstream",
};
export const STREAM_LABEL: Record<StreamSide, string> = {
  direct: "direct (TLS h2)",
  weaver: "weaver-gateway, OpenAI API",
  "weaver-grpc": "weaver-gateway, gRPC",
  portkey: "Portkey, OpenAI API",
};

export type PeersFigures = ReturnType<typeof peersFigures>;

export function peersFigures(r: Rounds) {
  // A run in which no call completed has no rate or latency (NaN): figures are over the other rounds.
  const finite = (x: Measure) => measure(x.rounds.filter(Number.isFinite));
  const m = (name: string) => finite(r.measure(name));
  const per = (a: string, b: string) => finite(ratioMeasure(r.get(a), r.get(b)));
  const minus = (a: string, b: string) => finite(diffMeasure(r.get(a), r.get(b)));
  const addedRatio = (up: UpstreamKind, p: "p50" | "p99") => {
    const [portkey, weaver] = (["portkey", "weaver"] as const).map((via) =>
      diffMeasure(r.get(`${via}.${up}.c1.${p}`), r.get(`direct.${up}.c1.${p}`)),
    );
    return finite(ratioMeasure(portkey?.rounds ?? [], weaver?.rounds ?? []));
  };
  const vsPortkey = (up: UpstreamKind, c: number) => per(`weaver.${up}.c${c}.rps`, `portkey.${up}.c${c}.rps`);
  const grpcVsOpenai = (c: number) => per(`h2load.grpc.c${c}.rps`, `h2load.h2c.c${c}.rps`);
  const h2VsH1 = (c: number) => per(`weaver.h2.c${c}.rps`, `weaver.h1.c${c}.rps`);
  const added = (via: string, up: UpstreamKind, p: "p50" | "p99") =>
    minus(`${via}.${up}.c1.${p}`, `direct.${up}.c1.${p}`);
  const addedH2load = (api: string, p: "p50" | "p99") =>
    minus(`h2load.${api}.c1.${p}`, `h2load.direct.c1.${p}`);
  const ttfdAdded = (prefix: string, side: StreamSide) =>
    minus(`${prefix}.${side}.ttfdP50`, `${prefix}.direct.ttfdP50`);
  // Deltas per CPU second, gRPC over the OpenAI API: above 1, gRPC streams cost less.
  const grpcStreamEfficiency = per("s100.weaver.cpuPerDeltaUs", "s100.weaver-grpc.cpuPerDeltaUs");
  const pace = (side: StreamSide) => per(`s1000.${side}.deltasPerSecond`, "s1000.direct.deltasPerSecond");
  const rssPeak = (via: string) => measure(r.get(`${via}.c64.rssPeak`).map((bytes) => bytes / MiB));

  return {
    r,
    m,
    per,
    minus,
    addedRatio,
    vsPortkey,
    grpcVsOpenai,
    h2VsH1,
    added,
    addedH2load,
    ttfdAdded,
    grpcStreamEfficiency,
    pace,
    rssPeak,
  };
}
