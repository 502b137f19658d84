import { getEventListeners } from "node:events";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { type ModelConfig, RouterSchema } from "../../src/config/schema.js";
import { GatewayError } from "../../src/errors/gateway-error.js";
import { createLogger } from "../../src/log/logger.js";
import type { Provider } from "../../src/providers/provider.js";
import {
  type Deployment,
  MAX_REMEMBERED_PASSTHROUGH_MODELS,
  ModelRouter,
} from "../../src/router/model-router.js";
import { flush, ManualClock } from "./support/manual-clock.js";

/** With random() at 0.5, the first retry backs off 50 ms, the second 100 ms. */
const ROUTER = { retry_backoff: "100ms", max_retry_backoff: "1s" };
const WARN = "warn";

const unavailable = (retryAfterMs?: number) =>
  new GatewayError("unavailable", "HTTP 503", { retryable: true, status: 503, retryAfterMs });
const badRequest = () => new GatewayError("invalid_argument", "HTTP 400", { status: 400 });

/** A provider the router only passes around: the calls under test are the `run` callbacks. */
function stubProvider(name: string): Provider {
  return {
    name,
    origin: `https://${name}.test`,
    generate: () => Promise.reject(new Error("not called in router tests")),
    stream: () => ({
      [Symbol.asyncIterator]: () => {
        throw new Error("not called in router tests");
      },
    }),
  };
}

/** A model served by one deployment per provider, in order; weights default to 1. */
function group(providers: string[], extra: Partial<ModelConfig> & { weights?: number[] } = {}): ModelConfig {
  const { weights = [], ...rest } = extra;
  return {
    aliases: [],
    fallbacks: [],
    deployments: providers.map((provider, i) => ({
      provider,
      model: `${provider}-model`,
      weight: weights[i] ?? 1,
    })),
    ...rest,
  };
}

interface Setup {
  models: Record<string, ModelConfig>;
  passthrough?: string[];
  router?: Record<string, unknown>;
}

/** A real router on a manual clock with random() fixed at 0.5, logging into `logs`. */
function setUp({ models, passthrough = [], router = {} }: Setup) {
  const names = new Set([...Object.values(models).flatMap((m) => m.deployments.map((d) => d.provider))]);
  for (const name of passthrough) names.add(name);
  const providers = new Map([...names].map((name) => [name, stubProvider(name)]));
  const clock = new ManualClock();
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const routerPolicy = RouterSchema.parse({ ...ROUTER, ...router });
  const logger = createLogger({ LOG_LEVEL: "info" }, sink);
  const routed = new ModelRouter(models, providers, new Set(passthrough), routerPolicy, logger, {
    clock,
    random: () => 0.5,
  });
  return { router: routed, clock, logs };
}

type Outcome = "ok" | "hold" | Error | ((clock: ManualClock) => Promise<string>);

/**
 * Upstream behaviour per provider, one outcome per call (the last repeats): "ok" answers, "hold"
 * stays in flight until `finish`, an Error fails the attempt. Records which provider each attempt reached.
 */
class Upstreams {
  readonly attempts: string[] = [];
  private readonly held: { name: string; resolve: (value: string) => void }[] = [];

  constructor(
    private readonly clock: ManualClock,
    private readonly script: Record<string, Outcome[]>,
  ) {}

  readonly call = (deployment: Deployment): Promise<string> => {
    const name = deployment.provider.name;
    const outcomes = this.script[name] ?? ["ok"];
    const n = this.attempts.filter((a) => a === name).length;
    this.attempts.push(name);
    const outcome = outcomes[Math.min(n, outcomes.length - 1)] ?? "ok";
    if (outcome === "ok") return Promise.resolve(name);
    if (outcome instanceof Error) return Promise.reject(outcome);
    if (typeof outcome === "function") return outcome(this.clock);
    return new Promise((resolve) => this.held.push({ name, resolve }));
  };

  /** Answers every held call to `name`. */
  finish(name: string): void {
    for (const call of this.held.filter((c) => c.name === name)) call.resolve(name);
  }
}

const open = () => ({ signal: new AbortController().signal });

describe("resolve", () => {
  const { router } = setUp({
    models: { chat: group(["a"], { aliases: ["talk"] }), other: group(["b"]) },
    passthrough: ["openai"],
  });

  it("finds a model by its name and by its aliases", () => {
    expect(router.resolve("chat")).toBe(router.resolve("talk"));
    expect(router.resolve("chat").deployments.map((d) => d.model)).toEqual(["a-model"]);
  });

  it("reaches a passthrough provider as <provider>/<model>, and only a passthrough one", () => {
    const model = router.resolve("openai/gpt-x");
    expect(model.name).toBe("openai/gpt-x");
    expect(model.deployments.map((d) => [d.provider.name, d.model])).toEqual([["openai", "gpt-x"]]);
    for (const name of ["a/m", "openai/", "/gpt-x", "nope/gpt-x"]) {
      expect(() => router.resolve(name), name).toThrow(GatewayError);
    }
  });

  it("answers NOT_FOUND naming the known models and the passthrough patterns", () => {
    expect(() => router.resolve("gpt-5")).toThrow(
      expect.objectContaining({
        kind: "not_found",
        reason: "MODEL_NOT_FOUND",
        message: 'model "gpt-5" is not configured; known models: chat, other, talk, openai/<model>',
      }),
    );
  });

  it("lists the configured models, then one <provider>/* entry per passthrough provider", () => {
    expect(router.list().map((m) => m.name)).toEqual(["chat", "other", "openai/*"]);
  });
});

describe("passthrough models", () => {
  // Regression: a Map that stopped remembering at 1024 names forgot every model named after the
  // first 1024, however busy, and kept the first 1024 forever.
  it("keeps a model in use, with its health, through a flood of made-up names", () => {
    const { router } = setUp({ models: {}, passthrough: ["openai"] });
    const flood = (from: number, count: number) => {
      for (let i = from; i < from + count; i++) router.resolve(`openai/random-${i}`);
    };
    flood(0, MAX_REMEMBERED_PASSTHROUGH_MODELS);
    const popular = router.resolve("openai/popular");
    const health = popular.deployments[0]?.health;
    health?.start();
    health?.fail(unavailable(), 0);
    // Used more often than the bound's worth of new names arrives, it stays.
    for (let round = 0; round < 6; round++) {
      flood(MAX_REMEMBERED_PASSTHROUGH_MODELS * (1 + round), MAX_REMEMBERED_PASSTHROUGH_MODELS / 2);
      expect(router.resolve("openai/popular")).toBe(popular);
    }
    expect(popular.deployments[0]?.health.consecutiveFailures).toBe(1);
  });

  it("forgets the least recently used names beyond its bound, and remembers the recent ones", () => {
    const { router } = setUp({ models: {}, passthrough: ["openai"] });
    const first = router.resolve("openai/first");
    const recent: ReturnType<typeof router.resolve>[] = [];
    for (let i = 0; i < MAX_REMEMBERED_PASSTHROUGH_MODELS; i++) recent.push(router.resolve(`openai/m-${i}`));
    expect(router.resolve("openai/first")).not.toBe(first);
    // "first" came back as the newest and pushed out the oldest of the others; the rest stay.
    expect(router.resolve("openai/m-0")).not.toBe(recent[0]);
    const last = MAX_REMEMBERED_PASSTHROUGH_MODELS - 1;
    expect(router.resolve(`openai/m-${last}`)).toBe(recent[last]);
  });
});

describe("run", () => {
  it("returns the first success, the deployment counted in flight until released once", async () => {
    const { router, clock } = setUp({ models: { chat: group(["a"]) } });
    const upstreams = new Upstreams(clock, {});
    const routed = await router.run("chat", upstreams.call, open());
    expect(routed).toMatchObject({ value: "a", attempts: 1, model: { name: "chat" } });
    expect(routed.deployment.health).toMatchObject({ inFlight: 1, requestsTotal: 1 });
    routed.release();
    routed.release(unavailable());
    expect(routed.deployment.health).toMatchObject({ inFlight: 0, consecutiveFailures: 0, failuresTotal: 0 });
  });

  it("counts a failure released later (a stream that broke) against the deployment", async () => {
    const { router, clock } = setUp({ models: { chat: group(["a"]) } });
    const routed = await router.run("chat", new Upstreams(clock, {}).call, open());
    routed.release(unavailable());
    expect(routed.deployment.health).toMatchObject({ inFlight: 0, consecutiveFailures: 1, failuresTotal: 1 });
  });
});

describe("least_in_flight through the router", () => {
  it("sends requests to the deployment with fewer in flight, whatever the order", async () => {
    const { router, clock } = setUp({ models: { chat: group(["slow", "fast"]) } });
    const upstreams = new Upstreams(clock, { slow: ["hold", "ok"] });
    const held = router.run("chat", upstreams.call, open());
    await flush();
    expect(upstreams.attempts).toEqual(["slow"]);
    for (let i = 0; i < 5; i++) (await router.run("chat", upstreams.call, open())).release();
    expect(upstreams.attempts).toEqual(["slow", "fast", "fast", "fast", "fast", "fast"]);
    upstreams.finish("slow");
    (await held).release();
    // Level again: the one picked longest ago goes.
    (await router.run("chat", upstreams.call, open())).release();
    expect(upstreams.attempts.at(-1)).toBe("slow");
  });

  // Replaces a wall-clock check that failed 1 run in 3 on a busy machine: the same load, timed by the clock.
  it("gives the fast deployment most of the load and the slow one some (8 concurrent, 150 ms vs 5 ms)", async () => {
    const { router, clock } = setUp({ models: { chat: group(["slow", "fast"]) } });
    const answerAfter = (ms: number) => (c: ManualClock) =>
      new Promise<string>((resolve) => c.setTimer(ms, () => resolve("ok")));
    const upstreams = new Upstreams(clock, { slow: [answerAfter(150)], fast: [answerAfter(5)] });
    const total = 200;
    let started = 0;
    let done = 0;
    const worker = async () => {
      while (started < total) {
        started++;
        (await router.run("chat", upstreams.call, open())).release();
        done++;
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    while (done < total) await clock.advance(1);
    await Promise.all(workers);

    const slow = upstreams.attempts.filter((a) => a === "slow").length;
    const fast = upstreams.attempts.filter((a) => a === "fast").length;
    expect(slow + fast).toBe(total);
    expect(fast).toBeGreaterThan(2.5 * slow);
    expect(slow).toBeGreaterThan(0);
    for (const d of router.resolve("chat").deployments) expect(d.inFlight).toBe(0);
  });
});

describe("retries", () => {
  it("retries a retryable failure on another deployment once the backoff has passed on the clock", async () => {
    const { router, clock, logs } = setUp({ models: { chat: group(["bad", "good"]) } });
    const upstreams = new Upstreams(clock, { bad: [unavailable()] });
    const running = router.run("chat", upstreams.call, open());
    await clock.advance(49);
    expect(upstreams.attempts).toEqual(["bad"]);
    await clock.advance(1);
    const routed = await running;
    expect(upstreams.attempts).toEqual(["bad", "good"]);
    expect(routed).toMatchObject({ value: "good", attempts: 2 });
    const warned = logs.filter((l) => l.level === WARN && l.msg === "upstream attempt failed; retrying");
    expect(warned).toEqual([expect.objectContaining({ model: "chat", provider: "bad", attempt: 1 })]);
  });

  it("returns a failure that is not retryable at once, trying nothing else", async () => {
    const { router, clock } = setUp({ models: { chat: group(["strict", "spare"]) } });
    const error = badRequest();
    const upstreams = new Upstreams(clock, { strict: [error] });
    await expect(router.run("chat", upstreams.call, open())).rejects.toBe(error);
    expect(upstreams.attempts).toEqual(["strict"]);
    expect(clock.pending).toBe(0);
  });

  it("waits out the retry-after of the deployment it retries, not just the backoff", async () => {
    const { router, clock } = setUp({ models: { chat: group(["solo"]) } });
    const upstreams = new Upstreams(clock, { solo: [unavailable(700), "ok"] });
    const running = router.run("chat", upstreams.call, open());
    await clock.advance(699);
    expect(upstreams.attempts).toEqual(["solo"]);
    await clock.advance(1);
    await expect(running).resolves.toMatchObject({ attempts: 2 });
  });

  it("does not make another deployment wait for a retry-after it did not send", async () => {
    const { router, clock } = setUp({ models: { chat: group(["limited", "other"]) } });
    const upstreams = new Upstreams(clock, { limited: [unavailable(5_000)] });
    const running = router.run("chat", upstreams.call, open());
    await clock.advance(50);
    await expect(running).resolves.toMatchObject({ value: "other", attempts: 2 });
  });

  it("gives up at once rather than wait past the caller's deadline", async () => {
    const { router, clock } = setUp({ models: { chat: group(["a", "b"]) } });
    const error = unavailable();
    const upstreams = new Upstreams(clock, { a: [error] });
    const deadline = clock.now() + 40; // the backoff is 50
    await expect(router.run("chat", upstreams.call, { ...open(), deadline })).rejects.toBe(error);
    expect(upstreams.attempts).toEqual(["a"]);
    expect(clock.pending).toBe(0);
  });

  it("stops waiting as soon as the caller cancels, leaving no listener on its signal", async () => {
    const { router, clock } = setUp({ models: { chat: group(["a", "b"]) } });
    const upstreams = new Upstreams(clock, { a: [unavailable()] });
    const controller = new AbortController();
    const running = router.run("chat", upstreams.call, { signal: controller.signal });
    const outcome = running.catch((error: unknown) => error);
    await clock.advance(10);
    const reason = new Error("caller went away");
    controller.abort(reason);
    expect(await outcome).toBe(reason);
    expect(upstreams.attempts).toEqual(["a"]);
    expect(clock.pending).toBe(0);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });

  it("makes at most max_attempts attempts, then throws the last failure", async () => {
    const { router, clock } = setUp({
      models: { chat: group(["a", "b", "c"]) },
      router: { max_attempts: 2, allowed_failures: 5 },
    });
    const errors = { a: unavailable(), b: unavailable(), c: unavailable() };
    const upstreams = new Upstreams(clock, { a: [errors.a], b: [errors.b], c: [errors.c] });
    const outcome = router.run("chat", upstreams.call, open()).catch((error: unknown) => error);
    await clock.advance(1_000);
    const [first, second, ...more] = upstreams.attempts as (keyof typeof errors)[];
    expect([first, more]).toEqual(["a", []]);
    expect(second).toMatch(/^[bc]$/);
    expect(await outcome).toBe(errors[second ?? "a"]);
  });

  it("falls back to the next model once every deployment of this one has failed", async () => {
    const { router, clock } = setUp({
      models: { a: group(["a1", "a2"], { fallbacks: ["b"] }), b: group(["b1"]) },
    });
    const upstreams = new Upstreams(clock, { a1: [unavailable()], a2: [unavailable()] });
    const running = router.run("a", upstreams.call, open());
    await clock.advance(1_000);
    const routed = await running;
    expect(routed).toMatchObject({ value: "b1", attempts: 3, model: { name: "b" } });
    expect(upstreams.attempts).toEqual(["a1", "a2", "b1"]);
  });
});

describe("cooldown and limits", () => {
  it("takes a failing deployment out for its cooldown, then lets a single probe through", async () => {
    const { router, clock, logs } = setUp({
      models: { chat: group(["flaky", "steady"], { weights: [2, 1] }) },
      router: { allowed_failures: 1, cooldown: "30s" },
    });
    const upstreams = new Upstreams(clock, { flaky: [unavailable(), "hold"] });
    const first = router.run("chat", upstreams.call, open());
    await clock.advance(50);
    expect(await first).toMatchObject({ value: "steady", attempts: 2 });
    expect(logs.filter((l) => l.msg === "deployment cooling down")).toEqual([
      expect.objectContaining({ provider: "flaky", cooldownMs: 30_000 }),
    ]);

    await clock.advance(29_000);
    expect(await router.run("chat", upstreams.call, open())).toMatchObject({ value: "steady", attempts: 1 });
    await clock.advance(1_000);
    const probe = router.run("chat", upstreams.call, open());
    await flush();
    // While the probe runs, everything else goes elsewhere.
    expect(await router.run("chat", upstreams.call, open())).toMatchObject({ value: "steady" });
    upstreams.finish("flaky");
    expect(await probe).toMatchObject({ value: "flaky", attempts: 1 });
    expect(upstreams.attempts).toEqual(["flaky", "steady", "steady", "flaky", "steady"]);
  });

  it("skips a deployment at max_concurrent, and answers NO_DEPLOYMENT_AVAILABLE when none is left", async () => {
    const capped = group(["solo"]);
    capped.deployments[0] = { provider: "solo", model: "solo-model", weight: 1, max_concurrent: 1 };
    const { router, clock } = setUp({ models: { chat: capped } });
    const upstreams = new Upstreams(clock, { solo: ["hold"] });
    const first = router.run("chat", upstreams.call, open());
    await flush();
    await expect(router.run("chat", upstreams.call, open())).rejects.toMatchObject({
      kind: "unavailable",
      reason: "NO_DEPLOYMENT_AVAILABLE",
      retryable: true,
    });
    expect(upstreams.attempts).toEqual(["solo"]);
    upstreams.finish("solo");
    (await first).release();
  });
});
