import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  GatewayService,
  GenerateRequestSchema,
  GenerateStreamRequestSchema,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { spawnGateway } from "../../test/support/gateway-process.js";
import { num } from "../format.js";

/**
 * `npm run overload`: a gateway process filled to `server.max_in_flight` with slow streams, then
 * knocked on by many more calls. Shows that the ones over the limit are refused at once
 * (RESOURCE_EXHAUSTED, with retry-after), that nothing queues, and that the admitted ones complete.
 */

const { values } = parseArgs({
  options: {
    "max-in-flight": { type: "string", default: "200" },
    knocks: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "20" },
    out: { type: "string", default: "bench/results/overload.json" },
  },
});
const maxInFlight = Number(values["max-in-flight"]);
const knocks = Number(values.knocks);
const concurrency = Number(values.concurrency);
/** Tokens per admitted stream and their pace: each holds its slot for about 2 s. */
const STREAM_TOKENS = 40;
const TOKEN_MS = 50;

const gateway = await spawnGateway({
  server: { host: "127.0.0.1", port: 0, max_in_flight: maxInFlight },
  providers: { demo: { type: "demo", inter_token_delay: `${TOKEN_MS}ms` } },
  models: { demo: { deployments: [{ provider: "demo", model: "demo" }] } },
});
const clientOn = () => createClient(GatewayService, createGrpcTransport({ baseUrl: gateway.url }));
const messages = [{ role: "user", content: "Say hello to me" }];

try {
  // Fill: one connection per 50 streams, under the callers' 100-stream limit per connection.
  const fillers = Array.from({ length: Math.ceil(maxInFlight / 50) }, clientOn);
  let admitted = 0;
  let allAdmitted: () => void = () => {};
  const full = new Promise<void>((resolve) => (allAdmitted = resolve));
  const streams = Array.from({ length: maxInFlight }, async (_, i) => {
    const client = fillers[i % fillers.length] as ReturnType<typeof clientOn>;
    const request = create(GenerateStreamRequestSchema, {
      model: "demo",
      messages,
      maxTokens: STREAM_TOKENS,
    });
    let finished = false;
    let first = true;
    for await (const { event } of client.generateStream(request, { timeoutMs: 60_000 })) {
      if (first && event.case === "delta") {
        first = false;
        if (++admitted === maxInFlight) allAdmitted();
      }
      if (event.case === "finish") finished = true;
    }
    return finished;
  });
  await full;

  // Knock: many more unary calls, `concurrency` at a time, each timed from send to answer.
  const knocker = clientOn();
  const latencies: number[] = [];
  const codes = new Map<string, number>();
  let retryAfter = 0;
  let next = 0;
  const knockStart = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < knocks) {
        const startedAt = performance.now();
        let code = "OK";
        try {
          await knocker.generate(create(GenerateRequestSchema, { model: "demo", messages }), {
            onHeader: () => {},
          });
        } catch (error) {
          const e = ConnectError.from(error);
          code = Code[e.code];
          if (e.metadata.get("retry-after") === "1") retryAfter++;
        }
        latencies.push(performance.now() - startedAt);
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
    }),
  );
  const knockMs = performance.now() - knockStart;
  const completed = (await Promise.all(streams)).filter(Boolean).length;

  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  const result = {
    maxInFlight,
    knocks,
    concurrency,
    refusalMs: { p50: at(0.5), p99: at(0.99), max: latencies.at(-1) ?? 0 },
    knocksPerSecond: knocks / (knockMs / 1000),
    codes: Object.fromEntries(codes),
    withRetryAfter: retryAfter,
    admittedCompleted: completed,
  };
  const rows = [
    ["calls in flight (server.max_in_flight)", num(maxInFlight)],
    ["knocks over the limit", `${num(knocks)}, ${concurrency} at a time`],
    ["answers", [...codes].map(([code, n]) => `${code} ${num(n)}`).join(", ")],
    ["with retry-after: 1", num(retryAfter)],
    [
      "refusal latency p50 / p99 / max",
      `${num(at(0.5), 2)} / ${num(at(0.99), 2)} / ${num(latencies.at(-1) ?? 0, 2)} ms`,
    ],
    ["refusals per second", num(result.knocksPerSecond)],
    ["admitted streams completed", `${num(completed)} / ${num(maxInFlight)}`],
  ];
  process.stdout.write(`# weaver-gateway overload\n\n| | |\n| --- | --- |\n`);
  for (const [name, value] of rows) process.stdout.write(`| ${name} | ${value} |\n`);
  const out = resolve(values.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`\nwrote ${out}\n`);
  const refusedAll = codes.get("ResourceExhausted") === knocks;
  process.exitCode = refusedAll && completed === maxInFlight ? 0 : 1;
} finally {
  await gateway.dispose();
}
