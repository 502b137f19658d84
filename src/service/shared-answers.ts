import { cacheKey } from "../cache/cache-key.js";
import type { CachePolicy } from "../cache/cache-policy.js";
import { type CachedAnswer, replayDeltas, replayFacts, replayFinish } from "../cache/cached-answer.js";
import { Flights } from "../cache/flights.js";
import type { ResponseCache } from "../cache/response-cache.js";
import type {
  ChatRequest,
  ChatResult,
  ContentDelta,
  StreamFinish,
  UpstreamFacts,
} from "../providers/provider.js";
import type { ModelRouter, RoutableModel, Routed } from "../router/model-router.js";
import { boundCall } from "./call-bounds.js";
import { generate, generateStream } from "./generation.js";
import type { StreamStep } from "./generation-calls.js";
import type { UpstreamObserver } from "./upstream-observer.js";

type Chat = Omit<ChatRequest, "model">;

/** A cacheable call as the shared path takes it. */
export interface SharedCall {
  model: RoutableModel;
  chat: Chat;
  policy: CachePolicy;
  /** The caller's own cancel and deadline: they stop this caller waiting, not the shared call. */
  signal: AbortSignal;
  /** The shared call's bound: each caller's own deadline is on `signal`. */
  defaultDeadlineMs: number;
  upstream: UpstreamObserver;
}

/** An answer that cost this caller nothing: replayed from the cache, or another caller's call shared. */
export interface Shared<T> {
  value: T;
  free: boolean;
}

/**
 * The cacheable calls: answered from the cache when it holds the same request, else from an
 * identical call already in flight (coalesced: one upstream call for all of them), else from a new
 * call whose answer is kept for the next. Each caller waits within its own deadline; the shared call
 * runs on a signal of its own, bounded by server.default_deadline, and is cancelled once every
 * caller has gone (cancelled, or out of time).
 */
export class SharedAnswers {
  private readonly flights = new Flights();

  constructor(
    private readonly router: ModelRouter,
    private readonly cache: ResponseCache,
  ) {}

  async generate(call: SharedCall): Promise<Shared<Routed<ChatResult>>> {
    const { model, chat, policy } = call;
    const { key, label, hit } = await this.lookup(call);
    if (hit)
      return {
        value: { ...hit.routed, value: { ...hit.answer.completion, upstream: replayFacts(hit.answer) } },
        free: true,
      };
    const { value, coalesced, pays } = await this.flights.join(
      `generate ${key}`,
      async (signal) => {
        const bounds = boundCall(signal, undefined, call.defaultDeadlineMs);
        try {
          const routed = await generate(this.router, model.name, chat, bounds, call.upstream);
          this.cache.set(
            key,
            label,
            answerOf(routed, routed.value, undefined, routed.value.upstream),
            policy.ttlMs,
          );
          return routed;
        } finally {
          bounds.end();
        }
      },
      call.signal,
    );
    if (coalesced) this.cache.reports.coalesced(label);
    // Each caller its own copy: each prices its own usage, and one of them pays.
    return { value: { ...value, value: { ...value.value } }, free: !pays };
  }

  /** The call's cache key and metric label, and the cached answer when there is one to replay. */
  private async lookup({ model, chat, policy }: SharedCall) {
    const key = cacheKey(model.name, chat);
    const label = labelOf(model);
    const answer = policy.lookup ? await this.cache.get(key, label, policy.maxAgeMs) : undefined;
    const routed = answer && replayed(model, answer);
    return { key, label, hit: routed && answer ? { routed, answer } : undefined };
  }

  /** The steps of a cacheable stream; `free()` says, once it has begun, whether it cost this caller nothing. */
  stream(call: SharedCall): { steps: AsyncGenerator<StreamStep>; free: () => boolean } {
    const state = { free: false };
    return { steps: this.streamSteps(call, state), free: () => state.free };
  }

  private async *streamSteps(call: SharedCall, state: { free: boolean }): AsyncGenerator<StreamStep> {
    const { key, label, hit } = await this.lookup(call);
    if (hit) {
      state.free = true;
      yield { type: "routed", routed: hit.routed };
      yield { type: "start", id: hit.answer.completion.id, upstream: replayFacts(hit.answer) };
      yield* replayDeltas(hit.answer);
      yield replayFinish(hit.answer);
      return;
    }
    // The caller that gets the answer's end first pays for it; one that leaves before pays only
    // when it was the last (the call is cancelled, as an unshared stream would be), by estimate.
    let claim = () => false;
    let ended = false;
    state.free = true;
    const steps = this.flights.joinStream(
      `stream ${key}`,
      (signal) => this.sharedStream(call, key, signal),
      call.signal,
      {
        joined: (coalesced, claimPayment) => {
          claim = claimPayment;
          if (coalesced) this.cache.reports.coalesced(label);
        },
        left: (abandoned) => {
          if (!ended) state.free = !abandoned;
        },
      },
    );
    for await (const step of steps) {
      if (step.type === "finish") {
        ended = true;
        state.free = !claim();
      }
      yield step;
    }
  }

  /** The one upstream stream of a flight, its steps recorded and its answer kept once it ends whole. */
  private async *sharedStream(
    call: SharedCall,
    key: string,
    signal: AbortSignal,
  ): AsyncGenerator<StreamStep> {
    const bounds = boundCall(signal, undefined, call.defaultDeadlineMs);
    try {
      const { routed, events } = await generateStream(
        this.router,
        call.model.name,
        call.chat,
        bounds,
        call.upstream,
      );
      yield { type: "routed", routed };
      let id = "";
      let facts: UpstreamFacts | undefined;
      const deltas: ContentDelta[] = [];
      let finish: StreamFinish | undefined;
      for await (const event of events) {
        if (event.type === "start") ({ id, upstream: facts } = event);
        else if (event.type === "finish") finish = event;
        else deltas.push(event);
        yield event;
      }
      if (finish !== undefined && facts !== undefined) {
        const text = deltas.flatMap((d) => (d.type === "delta" ? [d.text] : [])).join("");
        this.cache.set(
          key,
          labelOf(call.model),
          answerOf(routed, { ...finish, id, text }, deltas, facts),
          call.policy.ttlMs,
        );
      }
    } finally {
      bounds.end();
    }
  }
}

/** The model's metric label: a passthrough model's name is the caller's, so it folds into `<provider>/*`. */
function labelOf(model: RoutableModel): string {
  return model.passthrough ? `${model.deployments[0]?.provider.name}/*` : model.name;
}

/**
 * A cached answer as served by the model's deployment that made it; undefined when that deployment
 * is no longer the model's (a reload moved it): then the answer is not replayed.
 */
function replayed(model: RoutableModel, answer: CachedAnswer): Routed<unknown> | undefined {
  const deployment = model.deployments.find(
    (d) => d.provider.name === answer.provider && d.model === answer.deploymentModel,
  );
  if (deployment === undefined) return undefined;
  return { value: undefined, model, deployment, attempts: 0, release: () => {} };
}

function answerOf(
  routed: Routed<unknown>,
  completion: Omit<ChatResult, "upstream">,
  deltas: ContentDelta[] | undefined,
  facts: UpstreamFacts,
): CachedAnswer {
  const { id, text, finishReason, usage, nonTextContent, toolCalls, reasoning, refusal } = completion;
  return {
    createdAt: Date.now(),
    provider: routed.deployment.provider.name,
    deploymentModel: routed.deployment.model,
    origin: facts.origin,
    protocol: facts.protocol,
    completion: { id, text, finishReason, usage, nonTextContent, toolCalls, reasoning, refusal },
    deltas,
  };
}
