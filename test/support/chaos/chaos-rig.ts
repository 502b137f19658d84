import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type GatewayProcess, spawnGateway } from "../gateway-process.js";
import type { ChaosWire } from "./chaos-body.js";
import { ChaosClient } from "./chaos-client.js";
import { type ChaosTransport, type ChaosUpstream, startChaosUpstream } from "./chaos-upstream.js";

/** The four upstreams: each wire format over each transport, one gateway provider apiece. */
export const UPSTREAM_KINDS: { wire: ChaosWire; transport: ChaosTransport }[] = [
  { wire: "openai", transport: "h2" },
  { wire: "openai", transport: "h1" },
  { wire: "anthropic", transport: "h2" },
  { wire: "anthropic", transport: "h1" },
];

/** Per-origin connection limit the gateway is configured with (and the leak check allows). */
export const MAX_CONNECTIONS_PER_ORIGIN = 4;

export function providerName(wire: ChaosWire, transport: ChaosTransport): string {
  return `${wire}-${transport}`;
}

/** The real gateway as a child process, its providers pointing at chaos upstreams, and a caller. */
export interface ChaosRig {
  readonly upstreams: ReadonlyMap<string, ChaosUpstream>;
  /** The fake keys the providers carry: none may show in an RPC message or the gateway's output. */
  readonly secrets: readonly string[];
  gateway(): GatewayProcess;
  client(): ChaosClient;
  /** Whether the child process is still running. */
  alive(): boolean;
  /** Starts a fresh gateway after a crash (the upstreams stay). */
  restart(): Promise<void>;
  /** Open file descriptors of the gateway process. */
  fds(): number;
  /** CPU time (clock ticks, user + system) and resident memory (kB) of the gateway process. */
  usage(): { cpuTicks: number; rssKb: number };
  /** GET /healthz answers 200. */
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}

export async function startChaosRig(): Promise<ChaosRig> {
  const upstreams = new Map<string, ChaosUpstream>();
  for (const kind of UPSTREAM_KINDS)
    upstreams.set(providerName(kind.wire, kind.transport), await startChaosUpstream(kind));
  const caPrefix = join(tmpdir(), `weaver-chaos-${randomBytes(4).toString("hex")}`);
  const providers: Record<string, unknown> = {};
  const secrets: string[] = [];
  for (const [name, upstream] of upstreams) {
    const secret = `sk-chaos-SECRET-${randomBytes(12).toString("hex")}`;
    const variable = `WEAVER_CHAOS_${name.toUpperCase().replace(/-/g, "_")}_KEY`;
    // The child inherits this process's environment: the keys reach it only through variables.
    process.env[variable] = secret;
    secrets.push(secret);
    const caFile = `${caPrefix}-${name}.pem`;
    writeFileSync(caFile, upstream.ca);
    providers[name] = {
      type: upstream.wire,
      base_url: upstream.wire === "openai" ? `${upstream.origin}/v1` : upstream.origin,
      api_key_env: variable,
      ca_file: caFile,
      passthrough_models: true,
    };
  }
  const config = {
    server: { host: "127.0.0.1", port: 0, drain_timeout: "2s" },
    // Headers that never come end at 1 s (or the caller's deadline), as a production value would, scaled down.
    pool: { request_timeout: "1s", max_connections: MAX_CONNECTIONS_PER_ORIGIN },
    router: { max_attempts: 3, retry_backoff: "10ms", max_retry_backoff: "100ms" },
    providers,
  };
  // Every gateway this rig started: a run killed from outside (a timeout, ^C) must leave none behind.
  const started = new Set<GatewayProcess>();
  let closed = false;
  const spawn = async () => {
    // fast-check's time limit abandons a batch mid-run, and it may still ask for a restart after close.
    const refuse = () => new Error("the chaos rig is closed");
    if (closed) throw refuse();
    const spawned = await spawnGateway(config);
    if (closed) {
      await spawned.dispose();
      throw refuse();
    }
    started.add(spawned);
    void spawned.exited.then(() => started.delete(spawned));
    return spawned;
  };
  const killGateways = () => {
    for (const each of started) each.child.kill("SIGKILL");
  };
  process.once("exit", killGateways);
  let gateway = await spawn();
  let client = new ChaosClient(gateway.url);
  return {
    upstreams,
    secrets,
    gateway: () => gateway,
    client: () => client,
    alive: () => gateway.child.exitCode === null && gateway.child.signalCode === null,
    restart: async () => {
      client.close();
      await gateway.dispose();
      gateway = await spawn();
      client = new ChaosClient(gateway.url);
    },
    fds: () => {
      try {
        return readdirSync(`/proc/${gateway.child.pid}/fd`).length;
      } catch {
        return -1;
      }
    },
    usage: () => processUsage(gateway.child.pid),
    healthy: () => healthz(gateway.url),
    close: async () => {
      closed = true;
      process.off("exit", killGateways);
      client.close();
      await Promise.all([...started].map((each) => each.dispose()));
      await gateway.dispose();
      for (const upstream of upstreams.values()) await upstream.close();
      for (const name of upstreams.keys()) rmSync(`${caPrefix}-${name}.pem`, { force: true });
    },
  };
}

function processUsage(pid: number | undefined): { cpuTicks: number; rssKb: number } {
  try {
    // Fields 14 and 15 of /proc/<pid>/stat (after the parenthesised name): utime and stime.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return { cpuTicks: Number(stat[11]) + Number(stat[12]), rssKb: Number(rss ?? 0) };
  } catch {
    return { cpuTicks: 0, rssKb: 0 };
  }
}

/** GET /healthz on a connection of its own that closes after (no pooled socket to count as an fd). */
function healthz(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(`${url}/healthz`, { agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode === 200));
      res.on("error", () => resolve(false));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
  });
}
