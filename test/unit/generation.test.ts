import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { AccessControl } from "../../src/access/access-control.js";
import { CallerKeys } from "../../src/access/caller-keys.js";
import { ResponseCache } from "../../src/cache/response-cache.js";
import { type ModelConfig, PoolSchema, RouterSchema } from "../../src/config/schema.js";
import { GatewayError } from "../../src/errors/gateway-error.js";
import { createLogger } from "../../src/log/logger.js";
import { GatewayMetrics } from "../../src/metrics/gateway-metrics.js";
import type { ChatRequest, ChatResult, ChatStreamEvent, Provider } from "../../src/providers/provider.js";
import { ModelRouter } from "../../src/router/model-router.js";
import { CallObserver } from "../../src/service/call-observer.js";
import { generate, generateStream } from "../../src/service/generation.js";
import { GenerationCalls } from "../../src/service/generation-calls.js";
import { LoadShedder } from "../../src/service/load-shedder.js";
import { SharedAnswers } from "../../src/service/shared-answers.js";
import { UpstreamObserver } from "../../src/service/upstream-observer.js";
import { MemoryBlobStore, MemoryStore } from "../../src/store/memory-store.js";
import { UpstreamPools } from "../../src/upstream/upstream-pools.js";

const CHAT = {
  messages: [{ role: "user" as const, content: [{ type: "text" as const, text: "hi" }] }],
  stop: [],
  tools: [],
};
const USAGE = { inputTokens: 3, outputTokens: 5 };
const unavailable = () => new GatewayError("unavailable", "HTTP 503", { retryable: true, status: 503 });

const upstreamOf = (name: string, reused = true) => ({
  origin: `https://${name}.test`,
  protocol: "h2",
  connectionReused: reused,
  latencyMs: 1,
});

type StreamStep = ChatStreamEvent | Error;

/**
 * A provider at the interface the router and the service see: each call takes the next scripted
 * answer (the last repeats), records its request, and notes whether its stream was closed.
 */
class ScriptedProvider implements Provider {
  readonly origin: string;
  readonly requests: ChatRequest[] = [];
  streamsClosed = 0;

  constructor(
    readonly name: string,
    private readonly answers: (ChatResult | Error)[] = [],
    private readonly streams: StreamStep[][] = [],
  ) {
    this.origin = `https://${name}.test`;
  }

  async generate(request: ChatRequest): Promise<ChatResult> {
    this.requests.push(request);
    const answer = this.answers[Math.min(this.requests.length, this.answers.length) - 1] ?? this.result();
    if (answer instanceof Error) throw answer;
    return answer;
  }

  async *stream(request: ChatRequest): AsyncGenerator<ChatStreamEvent> {
    this.requests.push(request);
    const steps = this.streams[Math.min(this.requests.length, this.streams.length) - 1] ?? [];
    try {
      for (const step of steps) {
        if (step instanceof Error) throw step;
        yield step;
      }
    } finally {
      this.streamsClosed++;
    }
  }

  result(reused = true): ChatResult {
    const finish = {
      finishReason: "stop" as const,
      usage: USAGE,
      nonTextContent: [],
      toolCalls: [],
      reasoning: [],
      refusal: "",
    };
    return {
      id: `${this.name}-1`,
      text: `from ${this.name}`,
      ...finish,
      upstream: upstreamOf(this.name, reused),
    };
  }
}

const start = (name: string, reused = false): ChatStreamEvent => ({
  type: "start",
  id: `${name}-1`,
  upstream: upstreamOf(name, reused),
});
const delta = (text: string): ChatStreamEvent => ({ type: "delta", text });
const FINISH: ChatStreamEvent = {
  type: "finish",
  finishReason: "stop",
  usage: USAGE,
  nonTextContent: [],
  toolCalls: [],
  reasoning: [],
  refusal: "",
};

/** A real router over the given providers (one model "chat" with a deployment each), real metrics. */
function setUp(...providers: ScriptedProvider[]) {
  const chat: ModelConfig = {
    aliases: [],
    fallbacks: [],
    deployments: providers.map((p) => ({ provider: p.name, model: `${p.name}-model`, weight: 1 })),
  };
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  const router = new ModelRouter(
    { chat },
    new Map(providers.map((p) => [p.name, p as Provider])),
    new Set(),
    RouterSchema.parse({}),
    createLogger({ LOG_LEVEL: "silent" }, quiet),
    { random: () => 0 }, // no backoff: retries follow at once
  );
  const metrics = new GatewayMetrics(new UpstreamPools(PoolSchema.parse({})));
  const observer = new UpstreamObserver(metrics);
  const bounds = { signal: new AbortController().signal };
  const inFlight = () => router.resolve("chat").deployments.map((d) => d.inFlight);
  return { router, metrics, observer, bounds, inFlight };
}

async function counted(
  metrics: GatewayMetrics,
  metric: "upstreamRequests" | "tokens",
): Promise<Record<string, string | number | undefined>[]> {
  const { values } = await metrics[metric].get();
  return values.map(({ labels, value }) => ({ ...labels, value }));
}

async function collect(events: AsyncIterable<ChatStreamEvent>): Promise<ChatStreamEvent[]> {
  const seen: ChatStreamEvent[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}

describe("generate", () => {
  it("asks the deployment for its own model name, releases it, and returns what served the call", async () => {
    const a = new ScriptedProvider("a");
    const { router, metrics, observer, bounds, inFlight } = setUp(a);
    const routed = await generate(router, "chat", CHAT, bounds, observer);

    expect(routed.value.text).toBe("from a");
    expect(a.requests).toEqual([{ ...CHAT, model: "a-model" }]);
    expect(inFlight()).toEqual([0]);
    expect(routed).toMatchObject({
      model: { name: "chat" },
      deployment: { provider: { name: "a" } },
      attempts: 1,
    });
    expect(routed.value.upstream.connectionReused).toBe(true);
    expect(observer.waitedMs).toBeGreaterThanOrEqual(0);
    expect(await counted(metrics, "upstreamRequests")).toEqual([
      { provider: "a", origin: "https://a.test", status: "200", value: 1 },
    ]);
    expect(await counted(metrics, "tokens")).toEqual([
      { provider: "a", model: "chat", direction: "input", value: 3 },
      { provider: "a", model: "chat", direction: "output", value: 5 },
    ]);
  });

  it("records every attempt of a retried call, each with its status", async () => {
    const bad = new ScriptedProvider("bad", [unavailable()]);
    const good = new ScriptedProvider("good");
    const { router, metrics, observer, bounds, inFlight } = setUp(bad, good);
    const routed = await generate(router, "chat", CHAT, bounds, observer);

    expect(routed.deployment.provider.name).toBe("good");
    expect(routed.attempts).toBe(2);
    expect(inFlight()).toEqual([0, 0]);
    const statuses = (await counted(metrics, "upstreamRequests")).map((c) => [c.provider, c.status, c.value]);
    expect(statuses).toEqual([
      ["bad", "503", 1],
      ["good", "200", 1],
    ]);
  });

  it("passes on a failure that is not retryable, released and counted with status 0 when none came back", async () => {
    const failure = new GatewayError("cancelled", "caller went away");
    const a = new ScriptedProvider("a", [failure]);
    const { router, metrics, observer, bounds, inFlight } = setUp(a);
    await expect(generate(router, "chat", CHAT, bounds, observer)).rejects.toBe(failure);
    expect(inFlight()).toEqual([0]);
    expect((await counted(metrics, "upstreamRequests")).map((c) => c.status)).toEqual(["0"]);
  });
});

describe("generateStream", () => {
  it("relays start, deltas and finish in order, holding the deployment until the stream is read", async () => {
    const a = new ScriptedProvider("a", [], [[start("a", true), delta("Hel"), delta("lo"), FINISH]]);
    const { router, metrics, observer, bounds, inFlight } = setUp(a);
    const { routed, events } = await generateStream(router, "chat", CHAT, bounds, observer);

    expect(routed.attempts).toBe(1);
    expect(inFlight()).toEqual([1]);
    const seen = await collect(events);
    expect(seen.map((e) => e.type)).toEqual(["start", "delta", "delta", "finish"]);
    expect(inFlight()).toEqual([0]);
    expect(a.streamsClosed).toBe(1);
    expect(seen[0]).toMatchObject({ type: "start", upstream: { connectionReused: true } });
    expect((await counted(metrics, "tokens")).map((c) => c.value)).toEqual([3, 5]);
    expect((await counted(metrics, "upstreamRequests")).map((c) => c.status)).toEqual(["200"]);
  });

  it("retries a stream that fails before its first content, closing the failed one", async () => {
    const flaky = new ScriptedProvider("flaky", [], [[start("flaky"), unavailable()]]);
    const steady = new ScriptedProvider("steady", [], [[start("steady"), delta("ok"), FINISH]]);
    const { router, observer, bounds, inFlight } = setUp(flaky, steady);
    const { routed, events } = await generateStream(router, "chat", CHAT, bounds, observer);

    expect(routed).toMatchObject({ attempts: 2, deployment: { model: "steady-model" } });
    expect(flaky.streamsClosed).toBe(1);
    const text = (await collect(events)).map((e) => (e.type === "delta" ? e.text : "")).join("");
    expect(text).toBe("ok");
    expect(inFlight()).toEqual([0, 0]);
  });

  it("does not retry once content has reached the caller: the failure ends the stream and counts", async () => {
    const failure = unavailable();
    const a = new ScriptedProvider("a", [], [[start("a"), delta("partial"), failure]]);
    const b = new ScriptedProvider("b", [], [[start("b"), delta("never"), FINISH]]);
    const { router, metrics, observer, bounds } = setUp(a, b);
    const { routed, events } = await generateStream(router, "chat", CHAT, bounds, observer);

    const seen: ChatStreamEvent[] = [];
    const outcome = await (async () => {
      for await (const event of events) seen.push(event);
    })().catch((error: unknown) => error);
    expect(outcome).toBe(failure);
    expect(seen.map((e) => (e.type === "delta" ? e.text : e.type))).toEqual(["start", "partial"]);
    expect(b.requests).toEqual([]);
    expect(routed.deployment.health).toMatchObject({ inFlight: 0, consecutiveFailures: 1 });
    expect((await counted(metrics, "upstreamRequests")).map((c) => c.status)).toEqual(["503"]);
  });

  it("ends the provider's stream when the caller stops reading, without counting it a failure", async () => {
    const a = new ScriptedProvider("a", [], [[start("a"), delta("one"), delta("two"), FINISH]]);
    const { router, observer, bounds } = setUp(a);
    const { routed, events } = await generateStream(router, "chat", CHAT, bounds, observer);
    for await (const event of events) if (event.type === "delta") break;
    expect(a.streamsClosed).toBe(1);
    expect(routed.deployment.health).toMatchObject({ inFlight: 0, consecutiveFailures: 0, failuresTotal: 0 });
  });
});

describe("GenerationCalls.stream", () => {
  // Found in review: a caller that stopped at the routed step left the relay unstarted, so the
  // deployment stayed taken and the provider's stream open.
  it("a caller that stops at the routed step releases the deployment, the provider's stream and the admission", async () => {
    const a = new ScriptedProvider("a", [], [[start("a"), delta("one"), FINISH]]);
    const { router, metrics, inFlight } = setUp(a);
    const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
    const shedder = new LoadShedder({ maxInFlight: 10, maxEventLoopDelayMs: 10_000 });
    const calls = new GenerationCalls({
      router,
      access: new AccessControl(new CallerKeys([]), new MemoryStore(), "open", {
        storeFailed: () => {},
        quotaRefused: () => {},
      }),
      answers: new SharedAnswers(
        router,
        new ResponseCache(new MemoryBlobStore(1_000_000), false, {
          looked: () => {},
          stored: () => {},
          coalesced: () => {},
          failed: () => {},
        }),
      ),
      metrics,
      observer: new CallObserver(createLogger({ LOG_LEVEL: "silent" }, quiet), metrics),
      shedder,
      limits: { maxRequestBytes: 1_000_000 },
      defaultDeadlineMs: 60_000,
    });
    try {
      const steps = calls.stream({
        method: "GenerateStream",
        protocol: "grpc",
        http: "2.0",
        signal: new AbortController().signal,
        timeoutMs: undefined,
        input: { model: "chat", messages: [{ role: "user", content: "hi" }], stop: [] },
      });
      const first = await steps.next();
      expect(first.value).toMatchObject({ type: "routed" });
      expect(shedder.inFlight).toBe(1);
      await steps.return(undefined);
      expect(inFlight()).toEqual([0]);
      expect(a.streamsClosed).toBe(1);
      expect(shedder.inFlight).toBe(0);
    } finally {
      shedder.close();
    }
  });
});
