/**
 * What one upstream call costs the client, by protocol and library, without the gateway (issue 15):
 * undici over cleartext HTTP/1.1 (4 sockets), over TLS HTTP/1.1 (4 sockets) and over TLS HTTP/2
 * (one session), and node:http2 over TLS and over h2c, each posting the same JSON and reading the
 * same 400-byte answer. The servers run in a child process (core API for HTTP/2, so each answer
 * ends in its DATA frame); this process alternates the ways round by round and prints, per way and
 * concurrency, the median CPU µs per call (process.cpuUsage, so a busy machine's waits do not
 * count), calls/s, p50/p99, and the median same-round ratio of CPU per call to undici's cleartext
 * HTTP/1.1. Read the ratios on a busy machine, not the absolute figures.
 *
 * Two quiet runs here (2026-12-02), CPU per call against undici's cleartext HTTP/1.1: at c=1, undici
 * over TLS HTTP/2 ×2.07–2.19, node:http2 over the same TLS ×1.28–1.40, undici over TLS HTTP/1.1
 * ×1.25–1.37; at c=16 and 64, ×1.13–1.35, ×0.74–0.85 and ×1.23–1.38. TLS is what HTTP/2 over TLS
 * costs beyond cleartext at concurrency; undici's HTTP/2 layer over node:http2 adds as much again,
 * most at c=1 (70–150 µs a call), and node:http2 itself costs more per call than HTTP/1.1 at c=1.
 *
 *   taskset -c 0 node --import tsx bench/repro/upstream-client-cost.ts [rounds] [ms per round]
 *   (the servers run on CPU 1; SERVER_CPU changes it)
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import {
  connect,
  createServer as createH2cServer,
  createSecureServer,
  type ServerHttp2Stream,
} from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Server } from "node:net";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";
import { selfSignedCertificate } from "../../src/demo/self-signed-certificate.js";

const ANSWER = JSON.stringify({
  id: "chatcmpl-1",
  object: "chat.completion",
  text: "are and count ".repeat(26),
});
const HEADERS = { "content-type": "application/json", "content-length": Buffer.byteLength(ANSWER) };
const REQUEST = JSON.stringify({
  model: "demo",
  max_tokens: 16,
  messages: [{ role: "user", content: "hello there" }],
});

type Origins = { h1: string; h1tls: string; h2tls: string; h2c: string; ca: string };

if (process.argv[2] === "server") await serve();
else await measure(Number(process.argv[2] ?? 12), Number(process.argv[3] ?? 400));

async function serve(): Promise<void> {
  const { cert, key } = await selfSignedCertificate();
  const h1 = (req: IncomingMessage, res: ServerResponse) =>
    req.resume().on("end", () => res.writeHead(200, HEADERS).end(ANSWER));
  const h2 = (stream: ServerHttp2Stream) =>
    stream.resume().on("end", () => {
      stream.respond({ ":status": 200, ...HEADERS });
      stream.end(ANSWER);
    });
  const listen = async (server: Server) => {
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return (server.address() as AddressInfo).port;
  };
  const plain = createHttpServer({ keepAliveTimeout: 65_000 }, h1);
  const tls = createHttpsServer({ cert, key, keepAliveTimeout: 65_000 }, h1);
  for (const server of [plain, tls]) server.on("connection", (socket) => socket.setNoDelay(true));
  const origins: Origins = {
    h1: `http://127.0.0.1:${await listen(plain)}`,
    h1tls: `https://127.0.0.1:${await listen(tls)}`,
    h2tls: `https://127.0.0.1:${await listen(createSecureServer({ cert, key }).on("stream", h2))}`,
    h2c: `http://127.0.0.1:${await listen(createH2cServer().on("stream", h2))}`,
    ca: cert,
  };
  console.log(JSON.stringify(origins));
}

/** The ways to make one call; each resolves once the answer is read. */
function ways(o: Origins): Record<string, () => Promise<unknown>> {
  const viaUndici = (origin: string, allowH2: boolean) => {
    const pool = new Pool(origin, { connections: 4, allowH2, connect: { ca: o.ca } });
    const headers = { "content-type": "application/json" };
    return async () => {
      const response = await pool.request({ method: "POST", path: "/", headers, body: REQUEST });
      return response.body.text();
    };
  };
  const viaNode = (origin: string) => {
    const session = connect(origin, { ca: o.ca });
    const headers = { ":method": "POST", ":path": "/", "content-type": "application/json" };
    return () =>
      new Promise((resolve, reject) => {
        const stream = session.request({ ...headers, "content-length": Buffer.byteLength(REQUEST) });
        const chunks: Buffer[] = [];
        stream.on("data", (chunk: Buffer) => chunks.push(chunk));
        stream.on("end", () => resolve(Buffer.concat(chunks).toString()));
        stream.on("error", reject);
        stream.end(REQUEST);
      });
  };
  return {
    "undici, HTTP/1.1": viaUndici(o.h1, false),
    "undici, TLS HTTP/1.1": viaUndici(o.h1tls, false),
    "undici, TLS HTTP/2": viaUndici(o.h2tls, true),
    "node:http2, TLS": viaNode(o.h2tls),
    "node:http2, h2c": viaNode(o.h2c),
  };
}

async function measure(rounds: number, roundMs: number): Promise<void> {
  const cpu = process.env.SERVER_CPU ?? "1";
  const args = [...process.execArgv, fileURLToPath(import.meta.url), "server"];
  const child = spawn("taskset", ["-c", cpu, process.execPath, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [line] = (await once(child.stdout.setEncoding("utf8"), "data")) as [string];
  const calls = Object.entries(ways(JSON.parse(line) as Origins));
  for (const concurrency of [1, 16, 64]) {
    const rows = calls.map(() => [] as Round[]);
    for (let round = -1; round < rounds; round++) {
      // Alternating order, so a busy machine's drift falls on every way alike; round -1 warms up.
      const order = round % 2 === 0 ? [...calls.keys()] : [...calls.keys()].reverse();
      for (const i of order) {
        const result = await runRound(calls[i]?.[1] as () => Promise<unknown>, concurrency, roundMs);
        if (round >= 0) rows[i]?.push(result);
      }
    }
    const base = rows[0] as Round[];
    calls.forEach(([name], i) => {
      const r = rows[i] as Round[];
      const latencies = r.flatMap((x) => x.latencies);
      console.log(
        `c=${concurrency} ${name.padEnd(22)} ${median(r.map((x) => x.cpuPerCall)).toFixed(0)} µs CPU/call ` +
          `(×${median(r.map((x, k) => x.cpuPerCall / (base[k] as Round).cpuPerCall)).toFixed(2)}), ` +
          `${median(r.map((x) => x.perSecond)).toFixed(0)} calls/s, p50 ${quantile(latencies, 0.5).toFixed(3)} ms, ` +
          `p99 ${quantile(latencies, 0.99).toFixed(3)} ms`,
      );
    });
  }
  child.kill();
  process.exit(0);
}

interface Round {
  cpuPerCall: number;
  perSecond: number;
  latencies: number[];
}

async function runRound(call: () => Promise<unknown>, concurrency: number, ms: number): Promise<Round> {
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  const end = started + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await call();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const { user, system } = process.cpuUsage(cpu);
  const calls = latencies.length;
  return {
    cpuPerCall: (user + system) / calls,
    perSecond: (calls * 1000) / (performance.now() - started),
    latencies,
  };
}

function median(values: number[]): number {
  return quantile(values, 0.5);
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
