import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LoadJob } from "../job.js";
import { runWrk } from "../load-tools/wrk.js";
import { rssBytes } from "../proc.js";
import {
  type GatewayProcess,
  startGatewayProcess,
  startPortkey,
  startUpstream,
  type Upstream,
} from "../processes.js";
import type { BenchContext } from "./context.js";

/** The peers scenario's processes: three upstreams, this gateway and Portkey, each gateway serving all three. */

/** The upstreams both gateways reach: zero-delay over cleartext HTTP/1.1 and TLS (ALPN h2), and TLS paced for streams. */
export type UpstreamKind = "h1" | "h2" | "paced";
export const STREAM_GAP_MS = 20;
/** Upstream HTTP/2 streams per connection for the paced upstream: 4 connections carry 1,000 streams. */
const PACED_STREAMS_PER_CONNECTION = 256;
const MODELS: Record<UpstreamKind, string> = { h1: "demo-h1", h2: "demo", paced: "demo-paced" };

export type GatewayName = "weaver" | "portkey";

export interface Peers {
  upstreams: Record<UpstreamKind, Upstream>;
  gateways: Record<GatewayName, GatewayProcess>;
  /** RSS before any request, in bytes. */
  idleRss: Record<GatewayName, number>;
}

/** How one client reaches one upstream: straight, or through either gateway's OpenAI API. */
export interface Route {
  url: string;
  model: string;
  headers: Record<string, string>;
}

export function route(peers: Peers, via: GatewayName | "direct", upstream: UpstreamKind): Route {
  const origin = peers.upstreams[upstream].origin;
  if (via === "direct") return { url: origin, model: "demo", headers: {} };
  if (via === "weaver") return { url: peers.gateways.weaver.url, model: MODELS[upstream], headers: {} };
  // Portkey's routing headers: provider, a key it forwards, and the upstream as a custom host.
  const headers = {
    "x-portkey-provider": "openai",
    authorization: "Bearer x",
    "x-portkey-custom-host": `${origin}/v1`,
  };
  return { url: peers.gateways.portkey.url, model: "demo", headers };
}

export function chatBody(model: string, maxTokens: number): string {
  return JSON.stringify({
    model,
    messages: [{ role: "user", content: "bench request" }],
    max_tokens: maxTokens,
  });
}

/** Starts the upstreams and both gateways, notes their idle RSS, and checks every route with one call. */
export async function startPeers(ctx: BenchContext, settleMs: number): Promise<Peers> {
  const [plain, h2, paced] = await Promise.all([
    startUpstream(ctx.tmpDir, ctx.pin, { plain: true }).then((upstream) => {
      ctx.defer(upstream.stop);
      return upstream;
    }),
    ctx.upstream(),
    ctx.upstream({ ttftMs: 0, interTokenMs: STREAM_GAP_MS }),
  ]);
  const upstreams = { h1: plain, h2, paced };
  // One file trusts both TLS upstreams' certificates, for either gateway.
  const caFile = join(ctx.tmpDir, "peers-ca.pem");
  writeFileSync(caFile, [h2.caFile, paced.caFile].map((file) => readFileSync(file, "utf8")).join("\n"));
  const provider = (upstream: Upstream, pool: Record<string, unknown> = {}) => ({
    type: "openai",
    base_url: `${upstream.origin}/v1`,
    pool,
  });
  const config = {
    server: { host: "127.0.0.1", port: 0 },
    providers: {
      h1: provider(plain),
      h2: provider(h2),
      paced: provider(paced, { max_concurrent_streams: PACED_STREAMS_PER_CONNECTION }),
    },
    models: Object.fromEntries(
      Object.entries(MODELS).map(([kind, model]) => [
        model,
        { deployments: [{ provider: kind, model: "demo" }] },
      ]),
    ),
  };
  const [weaver, portkey] = await Promise.all([
    startGatewayProcess(ctx.tmpDir, ctx.pin, "peers", config, { caFile, logLevel: ctx.options.logLevel }),
    startPortkey(ctx.tmpDir, ctx.pin, caFile),
  ]);
  ctx.defer(weaver.stop);
  ctx.defer(portkey.stop);
  ctx.progress(`upstreams and gateways started (Portkey log: ${portkey.logFile})`);
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  const peers: Peers = {
    upstreams,
    gateways: { weaver, portkey },
    idleRss: { weaver: rssBytes(weaver.pid), portkey: rssBytes(portkey.pid) },
  };
  for (const via of ["weaver", "portkey"] as const) {
    for (const kind of ["h1", "h2", "paced"] as const) {
      const { url, model, headers } = route(peers, via, kind);
      const job: LoadJob = { target: url, protocol: "openai", rpc: "generate", count: 1, maxTokens: 4 };
      await ctx.run({ ...job, model, headers });
    }
  }
  await ctx.run({ target: weaver.url, protocol: "grpc", rpc: "generate", count: 1, maxTokens: 4 });
  return peers;
}

/**
 * The same warm-up for both gateways: `seconds` of wrk at c=16 on each zero-delay upstream.
 * Portkey runs at under half speed for its first 5 s; this gateway's CPU per call settles after
 * about 10,000 calls.
 */
export async function warmUp(ctx: BenchContext, peers: Peers, seconds: number): Promise<void> {
  for (const via of ["weaver", "portkey"] as const) {
    for (const kind of ["h1", "h2"] as const) {
      const { url, model, headers } = route(peers, via, kind);
      const job = { url: `${url}/v1/chat/completions`, body: chatBody(model, 16), headers, connections: 16 };
      const result = await runWrk(
        { ...job, durationMs: seconds * 1000 },
        ctx.pin.enabled ? ctx.pin.load : undefined,
      );
      ctx.progress(`warm-up ${via} → ${kind}: ${result.rps.toFixed(0)} req/s over ${seconds} s`);
    }
  }
}
