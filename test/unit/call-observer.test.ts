import { Writable } from "node:stream";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, test } from "vitest";
import { PoolSchema } from "../../src/config/schema.js";
import { GatewayError } from "../../src/errors/gateway-error.js";
import { createLogger } from "../../src/log/logger.js";
import { GatewayMetrics } from "../../src/metrics/gateway-metrics.js";
import { CallObserver } from "../../src/service/call-observer.js";
import { UpstreamPools } from "../../src/upstream/upstream-pools.js";

function observed(level = "info") {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  const metrics = new GatewayMetrics(new UpstreamPools(PoolSchema.parse({})));
  const observer = new CallObserver(createLogger({ LOG_LEVEL: level }, sink), metrics);
  return { lines, metrics, observer };
}

const OPENAI = { method: "ChatCompletions", protocol: "openai" as const, http: "1.1" };
const GRPC = { method: "Generate", protocol: "grpc" as const, http: "2.0" };

describe("CallObserver: one report for every API", () => {
  test("a cancelled call is code canceled on every API, as Connect names it", async () => {
    const { lines, metrics, observer } = observed();
    observer.begin(OPENAI)(new GatewayError("cancelled", "the caller went away"));
    observer.begin(GRPC)(new ConnectError("gone", Code.Canceled));
    expect(lines.map((l) => l.code)).toEqual(["canceled", "canceled"]);
    const { values } = await metrics.rpcs.get();
    expect(values.map((v) => v.labels.code)).toEqual(["canceled", "canceled"]);
  });

  test("one line shape whatever the API: the same fields, in the same order", () => {
    const { lines, observer } = observed();
    const facts = { model: "demo", provider: "demo", attempts: 1, connectionReused: true, upstreamWaitMs: 1 };
    observer.begin(OPENAI)(undefined, facts);
    observer.begin(GRPC)(undefined, facts);
    const shape = (line: Record<string, unknown>) =>
      Object.keys(line).filter((key) => !["time", "pid", "hostname"].includes(key));
    expect(shape(lines[0] ?? {})).toEqual(shape(lines[1] ?? {}));
    expect(lines[0]).toMatchObject({ msg: "rpc", method: "ChatCompletions", protocol: "openai", code: "ok" });
  });

  test("an unexpected error is INTERNAL, logged under err with its cause chain", () => {
    const { lines, observer } = observed();
    const cause = Object.assign(new Error("ECONNRESET"), { code: "ECONNRESET" });
    observer.begin(OPENAI)(new TypeError("cannot read properties of undefined", { cause }));
    expect(lines[0]).toMatchObject({ level: "error", code: "internal", error: "internal error" });
    const err = lines[0]?.err as { type: string; message: string; stack: string };
    expect(err.type).toBe("TypeError");
    expect(err.message).toContain("ECONNRESET");
    expect(err.stack).toContain("caused by: Error: ECONNRESET");
  });

  test("the gateway's own time is its duration less the upstream wait, for every API", async () => {
    const { metrics, observer } = observed();
    observer.begin(OPENAI)(undefined, { upstreamWaitMs: 0 });
    observer.begin(GRPC)(undefined, { upstreamWaitMs: 0 });
    const { values } = await metrics.overhead.get();
    const counts = values.filter((v) => v.metricName === "weaver_gateway_overhead_seconds_count");
    expect(counts.map((v) => [v.labels.method, v.value])).toEqual([
      ["ChatCompletions", 1],
      ["Generate", 1],
    ]);
  });

  test("a call is reported once, however often its end is called", () => {
    const { lines, observer } = observed();
    const end = observer.begin(GRPC);
    end(undefined);
    end(new Error("late"));
    expect(lines).toHaveLength(1);
  });

  test("an INTERNAL the caller caused (a message that does not parse) is a warning, not an error", () => {
    const { lines, observer } = observed();
    observer.begin(GRPC)(new ConnectError("parse binary: premature EOF", Code.Internal));
    expect(lines[0]).toMatchObject({ level: "warn", code: "internal", error: "parse binary: premature EOF" });
  });

  test("health probes and reflection are logged at debug", () => {
    const { lines, observer } = observed();
    observer.begin({ method: "Check", protocol: "grpc", http: "2.0", infrastructure: true })(undefined);
    expect(lines).toHaveLength(0);
  });
});
