import { once } from "node:events";
import { Code } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { GenerateStreamResponse } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import {
  type FakeAnthropic,
  type FakeOpenAI,
  type FakeUpstreamOptions,
  type RecordedRequest,
  startFakeAnthropic,
  startFakeOpenAI,
} from "../support/fakes/index.js";
import {
  type CollectedStream,
  collectStream,
  errorOf,
  type GatewayClient,
  generateRequest,
  type ProviderGateway,
  startProviderGateway,
  streamRequest,
} from "../support/provider-gateway.js";

/** The bound, from the caller giving up (or its deadline passing) to the upstream seeing the abort. */
const ABORT_BOUND_MS = 100;
const DEADLINE_MS = 300;
const KEY = "sk-test-cancel-0123456789abcdef";
/** 40 tokens at 25 ms apiece: about a second, far longer than any cancel or deadline below. */
const LONG_TEXT = Array.from({ length: 40 }, (_, i) => `word${i}`).join(" ");
const SHORT_TEXT = "Hello world, from a fake.";
/** The sibling's pace: still streaming when the other call is cancelled or times out. */
const SIBLING = { kind: "stream", text: SHORT_TEXT, eventDelayMs: 60 } as const;

type Fake = FakeOpenAI | FakeAnthropic;

const PROVIDERS = [
  {
    type: "openai" as const,
    model: "openai/gpt-4o-mini",
    start: (options: FakeUpstreamOptions): Promise<Fake> => startFakeOpenAI({ apiKey: KEY, ...options }),
  },
  {
    type: "anthropic" as const,
    model: "anthropic/claude-x",
    start: (options: FakeUpstreamOptions): Promise<Fake> => startFakeAnthropic({ apiKey: KEY, ...options }),
  },
];

/** Resolves with the performance.now() of the fake's next abort; call it before the trigger. */
function nextAbort(fake: Fake, guardMs = 5_000): Promise<number> {
  const guard = AbortSignal.timeout(guardMs);
  const at = (once(fake, "abort", { signal: guard }) as Promise<[number]>).then(
    ([at]) => at,
    (error: unknown) => {
      throw guard.aborted ? new Error(`the fake saw no abort within ${guardMs} ms`) : error;
    },
  );
  at.catch(() => {}); // awaited by the test; a test that failed earlier must not leave it unhandled
  return at;
}

function nextRequest(fake: Fake): Promise<unknown> {
  return once(fake, "request", { signal: AbortSignal.timeout(5_000) });
}

/**
 * Reads a whole stream; `started` resolves once `deltas` deltas have arrived, and rejects if the
 * stream ends or fails before that.
 */
function watchStream(stream: AsyncIterable<GenerateStreamResponse>, deltas: number) {
  let markStarted = () => {};
  const done: Promise<CollectedStream> = collectStream(stream, (count) => {
    if (count === deltas) markStarted();
  });
  const started = new Promise<void>((resolve, reject) => {
    markStarted = resolve;
    done.then(() => reject(new Error(`the stream ended before ${deltas} deltas`)), reject);
  });
  // Either may go unread (a test that failed early, a phase that never waits for `started`).
  done.catch(() => {});
  started.catch(() => {});
  return { started, done };
}

type Mode = "unary" | "stream";
type Phase = "waiting for the first byte" | "mid-response";
type Trigger = "cancel" | "deadline";
interface Case {
  mode: Mode;
  phase: Phase;
  trigger: Trigger;
}

/** What the fake answers the call that will be abandoned. */
function victimScenario({ mode, phase }: Case) {
  if (phase === "waiting for the first byte") return { kind: "hang" } as const;
  // A JSON body dribbled out in small pieces keeps a unary call reading its body for a second.
  return mode === "stream"
    ? ({ kind: "stream", text: LONG_TEXT, eventDelayMs: 25 } as const)
    : ({ kind: "json", text: LONG_TEXT, chunkBytes: 32, eventDelayMs: 25 } as const);
}

/** The sibling says so in its prompt: scenarios follow the request, not the order of arrival. */
const SIBLING_PROMPT = "I am the sibling";
const isSibling = (request: RecordedRequest) => request.rawBody.includes(SIBLING_PROMPT);

/**
 * Starts the call to be abandoned. `inFlight` resolves once it is under way upstream: its request
 * arrived (and for a stream mid-response, two deltas reached the caller).
 */
function startVictim(client: GatewayClient, fake: Fake, model: string, c: Case, signal: AbortSignal) {
  const options = c.trigger === "deadline" ? { timeoutMs: DEADLINE_MS } : { signal };
  const arrived = nextRequest(fake);
  if (c.mode === "unary") {
    return { inFlight: arrived, error: errorOf(client.generate(generateRequest({ model }), options)) };
  }
  const watched = watchStream(client.generateStream(streamRequest({ model }), options), 2);
  return {
    inFlight: c.phase === "mid-response" ? Promise.all([arrived, watched.started]) : arrived,
    error: errorOf(watched.done),
  };
}

const CASES: Case[] = (["unary", "stream"] as const).flatMap((mode) =>
  (["waiting for the first byte", "mid-response"] as const).flatMap((phase) =>
    (["cancel", "deadline"] as const).map((trigger) => ({ mode, phase, trigger })),
  ),
);

describe.each(PROVIDERS)("$type over HTTP/2", ({ type, model, start }) => {
  let fake: Fake;
  let gw: ProviderGateway;
  let connectionsBefore: number;

  beforeAll(async () => {
    fake = await start({});
  });
  // A gateway per test: every connection it opens (a warm-up's included) is the test's.
  beforeEach(async () => {
    connectionsBefore = fake.connections;
    gw = await startProviderGateway({ providers: { [type]: { type, upstream: fake, apiKey: KEY } } });
  });
  afterEach(async () => {
    fake.respondAlways(undefined);
    await gw?.close();
  });
  afterAll(() => fake?.close());

  it.each(CASES)(
    "a $trigger of a $mode call $phase reaches the upstream within 100 ms; a sibling stream on its connection completes",
    // The caller, the gateway and the fake share one event loop: when the machine's CPU is starved
    // (another worker compiling a subprocess), one sample can stall past the bound. One retry; a
    // real regression fails both runs.
    { retry: 1 },
    async (c) => {
      fake.respondAlways((request) => (isSibling(request) ? SIBLING : victimScenario(c)));
      const controller = new AbortController();
      const aborted = nextAbort(fake);
      const calledAt = performance.now();
      const victim = startVictim(gw.client, fake, model, c, controller.signal);
      await victim.inFlight;

      // Sent second, so it rides the victim's connection; streaming when the victim goes.
      const sibling = watchStream(
        gw.client.generateStream(streamRequest({ model, content: SIBLING_PROMPT })),
        1,
      );
      await sibling.started;

      let gaveUpAt = calledAt + DEADLINE_MS;
      if (c.trigger === "cancel") {
        gaveUpAt = performance.now();
        controller.abort();
      }
      expect((await aborted) - gaveUpAt).toBeLessThan(ABORT_BOUND_MS);
      expect((await victim.error).code).toBe(c.trigger === "cancel" ? Code.Canceled : Code.DeadlineExceeded);

      const done = await sibling.done;
      expect(done.text).toBe(SHORT_TEXT);
      expect(done.finish?.upstream).toMatchObject({ protocol: "h2", connectionReused: true });
      expect(fake.connections - connectionsBefore).toBe(1);
    },
  );
});

describe.each(PROVIDERS)("$type over HTTP/1.1", ({ type, model, start }) => {
  let fake: Fake;
  let gw: ProviderGateway;

  beforeAll(async () => {
    fake = await start({ http1Only: true });
    gw = await startProviderGateway({ providers: { [type]: { type, upstream: fake, apiKey: KEY } } });
  });
  afterEach(() => {
    fake.respondAlways(undefined);
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it("cancelling a stream mid-response closes its socket: the upstream sees the abort", async () => {
    fake.respondAlways({ kind: "stream", text: LONG_TEXT, eventDelayMs: 25 });
    const abortsBefore = fake.aborts;
    const aborted = nextAbort(fake);
    const controller = new AbortController();
    const victim = watchStream(
      gw.client.generateStream(streamRequest({ model }), { signal: controller.signal }),
      2,
    );
    await victim.started;
    controller.abort();
    await aborted;
    expect((await errorOf(victim.done)).code).toBe(Code.Canceled);
    expect(fake.aborts).toBe(abortsBefore + 1);
    expect(fake.requests.at(-1)?.httpVersion).toBe("1.1");
  });

  it("cancelling a unary call waiting for the first byte closes its socket: the upstream sees the abort", async () => {
    fake.respondAlways({ kind: "hang" });
    const abortsBefore = fake.aborts;
    const arrived = nextRequest(fake);
    const aborted = nextAbort(fake);
    const controller = new AbortController();
    const victim = errorOf(gw.client.generate(generateRequest({ model }), { signal: controller.signal }));
    await arrived;
    controller.abort();
    await aborted;
    expect((await victim).code).toBe(Code.Canceled);
    expect(fake.aborts).toBe(abortsBefore + 1);
  });

  it("after a cancel, the next call is served normally", async () => {
    const res = await gw.client.generate(generateRequest({ model }));
    expect(res.text).toBe("Hello from the fake upstream.");
    expect(res.upstream?.protocol).toBe("http/1.1");
  });
});
