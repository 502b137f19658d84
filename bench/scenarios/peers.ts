import { ensureLoadTools } from "../load-tools/ensure-load-tools.js";
import type { BenchContext, Scenario } from "./context.js";
import { peersReport } from "./peers-report.js";
import { STREAM_GAP_MS, startPeers, warmUp } from "./peers-setup.js";
import { PACE_SIDES, STREAM_SIDES, streamRounds } from "./peers-streams.js";
import { unaryRounds } from "./peers-unary.js";

/**
 * This gateway beside a pinned Portkey gateway (bench/peers): the same OpenAI API load, on the
 * same core, against the same upstreams, cleartext HTTP/1.1 and TLS HTTP/2. wrk and h2load drive
 * the unary load (the Node load generator would saturate before either gateway), the load
 * generator the streams, whose deltas it counts.
 */
export const peers: Scenario = {
  name: "peers",
  title:
    "weaver-gateway beside Portkey: the same OpenAI API load on the same core, HTTP/1.1 and TLS HTTP/2 upstreams",
  async run(ctx: BenchContext) {
    const { quick } = ctx.options;
    // --quick fits in about 30 s: one measured round (ratios are still within it), and the wrk
    // paths' discarded round left to the warm-up, which runs them.
    const plan = {
      warmUpSeconds: quick ? 1 : 5,
      runMs: quick ? 250 : 1000,
      unaryRounds: quick ? 1 : ctx.options.rounds,
      deltas: quick ? 16 : 64,
      streamRounds: quick ? 1 : ctx.options.rounds,
      paceRounds: quick ? 1 : 2,
    };
    ensureLoadTools(ctx.progress);
    const setup = await startPeers(ctx, quick ? 300 : 1000);
    await warmUp(ctx, setup, plan.warmUpSeconds);
    const r = await unaryRounds(ctx, setup, plan.runMs, plan.unaryRounds);
    const streams = { deltas: plan.deltas, warmUp: true };
    await streamRounds(
      ctx,
      setup,
      STREAM_SIDES,
      { ...streams, streams: 100, rounds: plan.streamRounds },
      "s100",
      r,
    );
    // 1,000 streams take 15-20 s even without Portkey (a TLS handshake each for it, then its CPU
    // per delta): a full run's only, so that the whole --quick bench stays under 2 minutes.
    if (!quick)
      await streamRounds(
        ctx,
        setup,
        PACE_SIDES,
        { ...streams, streams: 1000, rounds: plan.paceRounds, warmUp: false },
        "s1000",
        r,
      );
    return peersReport(r, setup, { ...plan, gapMs: STREAM_GAP_MS }, quick);
  },
};
