import { once } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import { Code } from "@connectrpc/connect";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { GenerateResponse, GenerateStreamResponse } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { ConfigError, parseConfig } from "../../src/config/load-config.js";
import { type OpenAIAnswer, openAIErrorBody, type ScenarioOf } from "../support/fakes/index.js";
import {
  errorOf,
  generateRequest,
  type RouterGateway,
  type RouterGatewayOptions,
  startRouterGateway,
  streamRequest,
  waitForCalls,
} from "../support/router-gateway.js";
import { runConcurrently } from "../support/run-concurrently.js";

const TEXT = "one two three four five six";
/** Retries back off briefly, so the suites spend their time on what they test. */
const QUICK_RETRIES = { retry_backoff: "5ms", max_retry_backoff: "20ms" };
const WARN = "warn";

/** An OpenAI 503, its headers `delayMs` late. */
function slow503(delayMs: number): ScenarioOf<OpenAIAnswer> {
  const body = JSON.stringify(openAIErrorBody(503));
  return {
    kind: "raw",
    status: 503,
    headers: { "content-type": "application/json" },
    chunks: [body],
    headersDelayMs: delayMs,
  };
}

/** A model group with one deployment per provider; `weights` in the same order (default 1 each). */
function group(providers: readonly string[], weights: number[] = [], extra: Record<string, unknown> = {}) {
  return {
    deployments: providers.map((provider, i) => ({
      provider,
      model: `${provider}-model`,
      weight: weights[i] ?? 1,
    })),
    ...extra,
  };
}

/** Closes the gateway (and its fakes) the running test started. */
let closeRunning: (() => Promise<void>) | undefined;

/** Starts a gateway (closed after the test) with quick retries unless `router` says otherwise. */
async function launch<const P extends string>(options: RouterGatewayOptions<P>): Promise<RouterGateway<P>> {
  const g = await startRouterGateway({ ...options, router: { ...QUICK_RETRIES, ...options.router } });
  closeRunning = () => g.close();
  return g;
}

afterEach(async () => {
  vi.restoreAllMocks();
  await closeRunning?.();
  closeRunning = undefined;
});

/** The gateway's warn lines with message `msg`. */
function warnings(g: { logs: Record<string, unknown>[] }, msg: string): Record<string, unknown>[] {
  return g.logs.filter((line) => line.level === WARN && line.msg === msg);
}

/** A whole GenerateStream: its events in order and the text. */
async function collect(stream: AsyncIterable<GenerateStreamResponse>) {
  const events: GenerateStreamResponse["event"][] = [];
  for await (const { event } of stream) events.push(event);
  const text = events.map((e) => (e.case === "delta" ? e.value.text : "")).join("");
  return { events, order: events.map((e) => e.case), text };
}

/** Reads a stream until it fails: the text that came first, and the error. */
async function readUntilError(stream: AsyncIterable<GenerateStreamResponse>) {
  let text = "";
  const error = await errorOf(
    (async () => {
      for await (const { event } of stream) if (event.case === "delta") text += event.value.text;
    })(),
  );
  return { text, error };
}

describe("selection under load", () => {
  // Counted, not timed: a check of shares under load (fast > 2.5 x slow) failed 1 run in 3 on a busy
  // machine. The load version runs on a manual clock in test/unit/model-router.test.ts.
  it("least_in_flight sends requests to the deployment with fewer in flight, over the heavier one", async () => {
    const g = await launch({
      providers: ["slow", "fast"],
      models: { chat: group(["slow", "fast"], [2, 1]) },
    });
    g.fakes.slow.respondWith({ kind: "hang" });
    const controller = new AbortController();
    const held = errorOf(g.client.generate(generateRequest("chat"), { signal: controller.signal }));
    await waitForCalls(g.fakes.slow, 1);

    // One in flight on "slow": every request goes to "fast", though "slow" is heavier.
    for (let i = 0; i < 5; i++) {
      const response = await g.client.generate(generateRequest("chat"));
      expect(response.upstream).toMatchObject({ provider: "fast", attempts: 1 });
    }
    const busy = await g.deployments("chat");
    expect(busy.slow).toMatchObject({ inFlight: 1, requestsTotal: 1n });
    expect(busy.fast).toMatchObject({ inFlight: 0, requestsTotal: 5n });

    // Cancelled, the held request leaves "slow" (released before the reset reaches the upstream),
    // and the tie goes to the heavier one again.
    const aborted = once(g.fakes.slow, "abort");
    controller.abort();
    expect((await held).code).toBe(Code.Canceled);
    await aborted;
    expect((await g.deployments("chat")).slow).toMatchObject({ inFlight: 0 });
    const after = await g.client.generate(generateRequest("chat"));
    expect(after.upstream).toMatchObject({ provider: "slow", attempts: 1 });
    expect(g.calls("slow")).toHaveLength(2);
    expect(g.calls("fast")).toHaveLength(5);
  });

  it("weighted_random holds 3:1 weights within 8 points over 400 requests", async ({ annotate }) => {
    const g = await launch({
      providers: ["heavy", "light"],
      router: { strategy: "weighted_random" },
      models: { chat: group(["heavy", "light"], [3, 1]) },
    });
    const total = 400;
    await runConcurrently(total, 16, () => g.client.generate(generateRequest("chat")));

    const heavy = g.calls("heavy").length;
    const light = g.calls("light").length;
    const share = heavy / total;
    await annotate(`weighted_random 3:1: heavy ${heavy}/${total} (${(share * 100).toFixed(1)}%)`);
    expect(heavy + light).toBe(total);
    expect(share).toBeGreaterThanOrEqual(0.67);
    expect(share).toBeLessThanOrEqual(0.83);
  });
});

describe("retries", () => {
  it("retries a 503 on the other deployment, and says so", async () => {
    // Idle and tied in flight, the heavier "bad" is always tried first.
    const g = await launch({ providers: ["bad", "good"], models: { chat: group(["bad", "good"], [2, 1]) } });
    g.fakes.bad.respondAlways({ kind: "error", status: 503 });

    const response = await g.client.generate(generateRequest("chat"));

    expect(response.text).toBe("Hello from the fake upstream.");
    expect(response.model).toBe("chat");
    expect(response.upstream).toMatchObject({ provider: "good", model: "good-model", attempts: 2 });
    expect(g.calls("bad").length).toBe(1);
    expect(g.calls("good").length).toBe(1);
    const deployments = await g.deployments("chat");
    expect(deployments.bad).toMatchObject({
      state: "healthy",
      inFlight: 0,
      consecutiveFailures: 1,
      requestsTotal: 1n,
      failuresTotal: 1n,
    });
    expect(deployments.good).toMatchObject({ consecutiveFailures: 0, requestsTotal: 1n, failuresTotal: 0n });
    const [retrying] = warnings(g, "upstream attempt failed; retrying");
    expect(retrying).toMatchObject({ model: "chat", provider: "bad", attempt: 1 });
    expect(String(retrying?.error)).toContain("503");
  });

  it("honours a 429's retry-after: no request reaches that deployment before it has passed", async () => {
    const g = await launch({
      providers: ["limited", "other"],
      models: { chat: group(["limited", "other"], [2, 1]) },
    });
    g.fakes.limited.respondWith({ kind: "error", status: 429, retryAfter: 1 });

    const first = await g.client.generate(generateRequest("chat"));
    expect(first.upstream).toMatchObject({ provider: "other", attempts: 2 });
    const cooling = (await g.deployments("chat")).limited;
    expect(cooling?.state).toBe("cooling_down");
    expect(cooling?.cooldownRemainingMs).toBeGreaterThan(0);
    expect(cooling?.cooldownRemainingMs).toBeLessThanOrEqual(1_000);
    expect(warnings(g, "deployment cooling down")).toEqual([
      expect.objectContaining({ provider: "limited", model: "limited-model", cooldownMs: 1_000 }),
    ]);

    // Steady traffic: it all goes elsewhere until the cooldown ends, then the deployment is back.
    const rateLimitedAt = g.calls("limited")[0]?.receivedAt ?? Number.NaN;
    const during: GenerateResponse[] = [];
    let back: GenerateResponse | undefined;
    while (back === undefined && performance.now() - rateLimitedAt < 4_000) {
      const response = await g.client.generate(generateRequest("chat"));
      if (response.upstream?.provider === "limited") back = response;
      else during.push(response);
      await delay(40);
    }
    expect(back?.upstream?.attempts).toBe(1);
    expect(g.calls("limited")).toHaveLength(2);
    const cameBackAfter = (g.calls("limited")[1]?.receivedAt ?? Number.NaN) - rateLimitedAt;
    expect(cameBackAfter).toBeGreaterThanOrEqual(1_000);
    expect(cameBackAfter).toBeLessThan(3_000);
    expect(during.length).toBeGreaterThan(3);
    expect(during.every((r) => r.upstream?.provider === "other" && r.upstream.attempts === 1)).toBe(true);
    expect((await g.deployments("chat")).limited).toMatchObject({ state: "healthy", consecutiveFailures: 0 });
  });

  it("after a cooldown, lets a single probe through, then takes the deployment back", async () => {
    const g = await launch({
      providers: ["flaky", "steady"],
      router: { allowed_failures: 2, cooldown: "500ms" },
      models: { chat: group(["flaky", "steady"], [2, 1]) },
    });
    // Two failures, then a slow success: the probe stays in flight while others arrive.
    g.fakes.flaky.respondWith(
      { kind: "error", status: 503 },
      { kind: "error", status: 503 },
      {
        kind: "answer",
        headersDelayMs: 300,
      },
    );

    for (let i = 0; i < 2; i++) {
      const response = await g.client.generate(generateRequest("chat"));
      expect(response.upstream).toMatchObject({ provider: "steady", attempts: 2 });
    }
    expect((await g.deployments("chat")).flaky).toMatchObject({
      state: "cooling_down",
      consecutiveFailures: 2,
      failuresTotal: 2n,
    });
    expect(warnings(g, "deployment cooling down")).toEqual([
      expect.objectContaining({ provider: "flaky", cooldownMs: 500 }),
    ]);

    await delay(650);
    expect((await g.deployments("chat")).flaky).toMatchObject({ state: "probing", cooldownRemainingMs: 0 });
    const steadyBefore = g.calls("steady").length;
    const burst = Array.from({ length: 6 }, () => g.client.generate(generateRequest("chat")));
    await waitForCalls(g.fakes.flaky, 3);
    await waitForCalls(g.fakes.steady, steadyBefore + 5);
    expect((await g.deployments("chat")).flaky).toMatchObject({ state: "probing", inFlight: 1 });
    const responses = await Promise.all(burst);

    expect(g.calls("flaky")).toHaveLength(3);
    expect(g.calls("steady")).toHaveLength(steadyBefore + 5);
    expect(responses.filter((r) => r.upstream?.provider === "flaky")).toHaveLength(1);
    expect(responses.every((r) => r.upstream?.attempts === 1)).toBe(true);
    expect((await g.deployments("chat")).flaky).toMatchObject({
      state: "healthy",
      consecutiveFailures: 0,
      inFlight: 0,
    });

    // Healthy again, and the heavier: idle traffic goes to it.
    for (let i = 0; i < 3; i++) {
      const response = await g.client.generate(generateRequest("chat"));
      expect(response.upstream?.provider).toBe("flaky");
    }
    expect(g.calls("flaky")).toHaveLength(6);
  });

  it.each(["unary", "stream"] as const)("does not retry a 400 (%s)", async (rpc) => {
    const g = await launch({
      providers: ["strict", "spare"],
      models: { chat: group(["strict", "spare"], [2, 1]) },
    });
    g.fakes.strict.respondAlways({ kind: "error", status: 400, message: "bad temperature" });

    const error =
      rpc === "unary"
        ? await errorOf(g.client.generate(generateRequest("chat")))
        : (await readUntilError(g.client.generateStream(streamRequest("chat")))).error;

    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("bad temperature");
    expect(g.calls("strict").length).toBe(1);
    expect(g.calls("spare").length).toBe(0);
    expect(warnings(g, "upstream attempt failed; retrying")).toEqual([]);
    // The caller's mistake is not the deployment's failure.
    expect((await g.deployments("chat")).strict).toMatchObject({
      state: "healthy",
      requestsTotal: 1n,
      failuresTotal: 0n,
      consecutiveFailures: 0,
    });
  });
});

describe("streams", () => {
  it.each<{ name: string; scenario: ScenarioOf<OpenAIAnswer>; code: Code }>([
    {
      name: "an in-band error",
      scenario: { kind: "stream", text: TEXT, errorAfterEvents: 3, eventDelayMs: 20 },
      code: Code.Internal,
    },
    {
      name: "a connection reset",
      scenario: { kind: "stream", text: TEXT, resetAfterEvents: 3, eventDelayMs: 20 },
      code: Code.Unavailable,
    },
  ])("does not retry a stream that failed after its first delta ($name)", async ({ scenario, code }) => {
    const g = await launch({
      providers: ["broken", "spare"],
      models: { chat: group(["broken", "spare"], [2, 1]) },
    });
    g.fakes.broken.respondWith(scenario);

    const { text, error } = await readUntilError(g.client.generateStream(streamRequest("chat")));

    // The role chunk, then "one" and " two": what the caller already has cannot be taken back.
    expect(text).toBe("one two");
    expect(error.code).toBe(code);
    expect(g.calls("broken").length).toBe(1);
    expect(g.calls("spare").length).toBe(0);
    expect(warnings(g, "upstream attempt failed; retrying")).toEqual([]);
    expect((await g.deployments("chat")).broken).toMatchObject({ inFlight: 0, failuresTotal: 1n });
  });

  it("does not resend a stream whose 200 carried an error event before any content: the upstream had answered", async () => {
    const g = await launch({
      providers: ["broken", "spare"],
      models: { chat: group(["broken", "spare"], [2, 1]) },
    });
    g.fakes.broken.respondWith({ kind: "stream", text: TEXT, errorAfterEvents: 1 });

    const { text, error } = await readUntilError(g.client.generateStream(streamRequest("chat")));

    expect(text).toBe("");
    expect(error.code).toBe(Code.Internal);
    expect(error.rawMessage).toContain("in the stream");
    expect(g.calls("broken").length).toBe(1);
    expect(g.calls("spare").length).toBe(0);
    // Still the deployment's failure.
    expect((await g.deployments("chat")).broken).toMatchObject({ inFlight: 0, failuresTotal: 1n });
  });

  // What never reached an upstream (a refused connection) is retried too: retry-safety.test.ts.
  it.each<{ name: string; scenario: ScenarioOf<OpenAIAnswer> }>([
    { name: "HTTP 503", scenario: { kind: "error", status: 503 } },
  ])("retries a stream the upstream refused ($name): one clean stream", async ({ scenario }) => {
    const g = await launch({
      providers: ["broken", "spare"],
      models: { chat: group(["broken", "spare"], [2, 1]) },
    });
    g.fakes.broken.respondWith(scenario);
    g.fakes.spare.respondAlways({ kind: "stream", text: TEXT });

    const { events, order, text } = await collect(g.client.generateStream(streamRequest("chat")));

    expect(text).toBe(TEXT);
    expect(order).toEqual(["start", ...TEXT.split(" ").map(() => "delta"), "finish"]);
    const first = events[0];
    expect(first?.case === "start" && first.value.model).toBe("chat");
    const finish = events.at(-1);
    expect(finish?.case === "finish" && finish.value.upstream).toMatchObject({
      provider: "spare",
      model: "spare-model",
      attempts: 2,
    });
    expect(g.calls("broken").length).toBe(1);
    expect(g.calls("spare").length).toBe(1);
  });
});

describe("deadline", () => {
  it.each<{ name: string; scenario: ScenarioOf<OpenAIAnswer>; router: Record<string, unknown> }>([
    {
      name: "slow 503s, short backoff",
      scenario: slow503(120),
      router: { retry_backoff: "5ms", max_retry_backoff: "5ms" },
    },
    {
      name: "quick 503s, long backoff",
      scenario: { kind: "error", status: 503 },
      router: { retry_backoff: "5s", max_retry_backoff: "10s" },
    },
    { name: "upstreams that never answer", scenario: { kind: "hang" }, router: {} },
  ])("a 300 ms deadline bounds the whole retry sequence ($name)", async ({ scenario, router }) => {
    const providers = ["a", "b", "c"] as const;
    const g = await launch({
      providers,
      router: { max_attempts: 10, allowed_failures: 20, ...router },
      models: { chat: group(providers) },
    });
    for (const name of providers) g.fakes[name].respondAlways(scenario);
    const requests = () => providers.reduce((sum, name) => sum + g.calls(name).length, 0);

    // The timeout goes in the header only: the gateway, not this client, has to keep it.
    const started = performance.now();
    const error = await errorOf(
      g.client.generate(generateRequest("chat"), { headers: { "grpc-timeout": "300m" } }),
    );
    const elapsed = performance.now() - started;

    expect([Code.DeadlineExceeded, Code.Unavailable]).toContain(error.code);
    expect(elapsed).toBeLessThan(300 + 700);
    if (scenario.kind === "hang") {
      expect(error.code).toBe(Code.DeadlineExceeded);
      expect(elapsed).toBeGreaterThanOrEqual(290);
    }
    // And nothing goes on behind the caller's back.
    const made = requests();
    expect(made).toBeGreaterThanOrEqual(1);
    await delay(500);
    expect(requests()).toBe(made);
    const deployments = await g.deployments("chat");
    expect(providers.map((name) => deployments[name]?.inFlight)).toEqual([0, 0, 0]);
  });
});

describe("fallbacks", () => {
  it.each(["unary", "stream"] as const)(
    "serves from the fallback group when every deployment fails (%s)",
    async (rpc) => {
      const g = await launch({
        providers: ["a1", "a2", "b1"],
        router: { allowed_failures: 1, cooldown: "30s" },
        models: { a: group(["a1", "a2"], [], { fallbacks: ["b"] }), b: group(["b1"]) },
      });
      g.fakes.a1.respondAlways({ kind: "error", status: 503 });
      g.fakes.a2.respondAlways({ kind: "error", status: 503 });

      const served = async () => {
        if (rpc === "unary") {
          const response = await g.client.generate(generateRequest("a"));
          return { model: response.model, upstream: response.upstream };
        }
        const { events } = await collect(g.client.generateStream(streamRequest("a")));
        const head = events[0];
        const finish = events.at(-1);
        return {
          model: head?.case === "start" ? head.value.model : undefined,
          upstream: finish?.case === "finish" ? finish.value.upstream : undefined,
        };
      };

      const first = await served();
      expect(first.model).toBe("b");
      expect(first.upstream).toMatchObject({ provider: "b1", model: "b1-model", attempts: 3 });
      expect(g.calls("a1").length).toBe(1);
      expect(g.calls("a2").length).toBe(1);
      expect(warnings(g, "upstream attempt failed; retrying").map((l) => [l.model, l.attempt])).toEqual([
        ["a", 1],
        ["a", 2],
      ]);

      // Both of a's deployments now cool down: the next request goes to b at once.
      const deployments = await g.deployments("a");
      expect(deployments.a1?.state).toBe("cooling_down");
      expect(deployments.a2?.state).toBe("cooling_down");
      const second = await served();
      expect(second.model).toBe("b");
      expect(second.upstream).toMatchObject({ provider: "b1", attempts: 1 });
      expect(g.calls("a1").length).toBe(1);
      expect(g.calls("a2").length).toBe(1);
      expect(g.calls("b1").length).toBe(2);
    },
  );
});

describe("max_concurrent", () => {
  it("skips a deployment at its limit, even when selection would have chosen it", async () => {
    const g = await launch({
      providers: ["capped", "open"],
      models: {
        chat: {
          deployments: [
            { provider: "capped", model: "capped-model", weight: 2, max_concurrent: 1 },
            { provider: "open", model: "open-model", weight: 1 },
          ],
        },
      },
    });
    for (const fake of Object.values(g.fakes)) fake.respondAlways({ kind: "answer", headersDelayMs: 400 });

    // Without the cap this would split 2:2 (the heavier capped one wins each tie in flight).
    const calls = Array.from({ length: 4 }, () => g.client.generate(generateRequest("chat")));
    await waitForCalls(g.fakes.open, 3);
    const busy = await g.deployments("chat");
    expect(busy.capped).toMatchObject({ inFlight: 1, state: "healthy" });
    expect(busy.open).toMatchObject({ inFlight: 3 });
    const responses = await Promise.all(calls);

    expect(g.calls("capped").length).toBe(1);
    expect(g.calls("open").length).toBe(3);
    expect(responses.map((r) => r.upstream?.provider).sort()).toEqual(["capped", "open", "open", "open"]);
  });

  // Regression: a retry's deployment was chosen before its backoff and started after it, when
  // another request may have taken the deployment's last slot.
  it("holds the limit when another request takes the slot during a retry's backoff", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.99); // every backoff: 99% of retry_backoff
    const g = await launch({
      providers: ["failing", "capped"],
      router: { allowed_failures: 1, retry_backoff: "300ms", max_retry_backoff: "300ms" },
      models: {
        chat: {
          deployments: [
            { provider: "failing", model: "failing-model", weight: 2 },
            { provider: "capped", model: "capped-model", weight: 1, max_concurrent: 1 },
          ],
        },
      },
    });
    g.fakes.failing.respondAlways({ kind: "error", status: 503 });
    g.fakes.capped.respondAlways({ kind: "answer", headersDelayMs: 1_000 });

    // The first request fails on "failing" (now cooling down) and backs off for ~300 ms ...
    const first = g.client.generate(generateRequest("chat")).catch(() => undefined);
    await waitForCalls(g.fakes.failing, 1);
    await delay(50);
    // ... while the second takes "capped"'s only slot.
    const second = g.client.generate(generateRequest("chat"));
    await waitForCalls(g.fakes.capped, 1);
    await Promise.all([first, second]);

    expect(g.calls("capped")).toHaveLength(1);
  });

  it("answers UNAVAILABLE when every deployment is at its limit", async () => {
    const g = await launch({
      providers: ["solo"],
      models: { chat: { deployments: [{ provider: "solo", model: "solo-model", max_concurrent: 1 }] } },
    });
    g.fakes.solo.respondAlways({ kind: "answer", headersDelayMs: 400 });

    const first = g.client.generate(generateRequest("chat"));
    await waitForCalls(g.fakes.solo, 1);
    const error = await errorOf(g.client.generate(generateRequest("chat")));

    expect(error.code).toBe(Code.Unavailable);
    expect(error.metadata.get("weaver-error-reason")).toBe("NO_DEPLOYMENT_AVAILABLE");
    expect((await first).upstream?.provider).toBe("solo");
    expect(g.calls("solo")).toHaveLength(1);
  });
});

describe("router config", () => {
  const providers = { p: { type: "demo" } };
  const deployments = [{ provider: "p", model: "m" }];
  const problems = (models: Record<string, unknown>) => {
    try {
      parseConfig({ providers, models });
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  };

  it("names a fallback loop by its path, each way round", () => {
    expect(problems({ a: { deployments, fallbacks: ["b"] }, b: { deployments, fallbacks: ["a"] } })).toEqual([
      "models.a.fallbacks[0]: fallback loop: a -> b -> a",
      "models.b.fallbacks[0]: fallback loop: b -> a -> b",
    ]);
  });

  it("finds a loop through an alias, and a model falling back to itself", () => {
    expect(
      problems({
        a: { deployments, fallbacks: ["b"] },
        b: { deployments, aliases: ["bee"], fallbacks: ["c"] },
        c: { deployments, fallbacks: ["bee"] },
      }),
    ).toContain("models.c.fallbacks[0]: fallback loop: c -> b -> c");
    expect(problems({ a: { deployments, fallbacks: ["a"] } })).toEqual([
      "models.a.fallbacks[0]: fallback loop: a -> a",
    ]);
  });

  it("names an unknown fallback by its path", () => {
    expect(problems({ a: { deployments, fallbacks: ["b", "nope"] }, b: { deployments } })).toEqual([
      'models.a.fallbacks[1]: unknown model "nope"',
    ]);
  });

  it("rejects a weight below zero by its path, and accepts zero", () => {
    const [problem, ...rest] = problems({
      a: {
        deployments: [
          { provider: "p", model: "m" },
          { provider: "p", model: "m", weight: -1 },
        ],
      },
    });
    expect(rest).toEqual([]);
    expect(problem).toMatch(/^models\.a\.deployments\[1\]\.weight: .*>=\s?0/);
    expect(problems({ a: { deployments: [{ provider: "p", model: "m", weight: 0 }] } })).toEqual([]);
  });
});
