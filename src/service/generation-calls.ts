import type { AccessControl, CallPass } from "../access/access-control.js";
import type { CallerKey } from "../access/caller-keys.js";
import { costOf, priceOf } from "../access/prices.js";
import { deltaChars, estimateInputTokens, estimateTokens } from "../access/token-estimate.js";
import { cachePolicy } from "../cache/cache-policy.js";
import { GatewayError } from "../errors/gateway-error.js";
import type { GatewayMetrics } from "../metrics/gateway-metrics.js";
import type { ChatRequest, ChatResult, ChatStreamEvent, TokenUsage } from "../providers/provider.js";
import type { ModelRouter, RoutableModel, Routed } from "../router/model-router.js";
import { boundCall, MAX_TIMER_MS } from "./call-bounds.js";
import type { CallArrival, CallFacts, CallObserver } from "./call-observer.js";
import { generate, generateStream, modelLabel } from "./generation.js";
import type { LoadShedder } from "./load-shedder.js";
import type { Shared, SharedAnswers } from "./shared-answers.js";
import { UpstreamObserver } from "./upstream-observer.js";
import { type GenerationInput, type ValidationLimits, validateRequest } from "./validate-request.js";

export interface GenerationCallsDeps {
  router: ModelRouter;
  access: AccessControl;
  /** Cacheable calls: answered from the cache, or coalesced with an identical call in flight. */
  answers: SharedAnswers;
  metrics: GatewayMetrics;
  observer: CallObserver;
  shedder: LoadShedder;
  limits: ValidationLimits;
  /** The deadline of a call whose caller sets none, ms. */
  defaultDeadlineMs: number;
}

/** One caller's generation call as it arrives, from whichever API. */
export interface GenerationCall extends CallArrival {
  /** Aborted when the caller goes away (or its protocol's own deadline passes). */
  signal: AbortSignal;
  /** The caller's deadline, if it set one. */
  timeoutMs: number | undefined;
  input: GenerationInput;
  /** The caller's metadata, for the log. */
  metadata?: Record<string, string> | undefined;
  /** The key the caller presented (authorization: Bearer, or x-api-key); never logged. */
  presentedKey?: string | undefined;
  /** Sets a header of the reply (gRPC: response metadata), before its first byte: where the key's quotas stand. */
  replyHeader?: ((name: string, value: string) => void) | undefined;
  /** The request's `cache-control`: no-cache, no-store, max-age=N. */
  cacheControl?: string | undefined;
}

/** A stream's steps: first the deployment that serves it, then the provider's events. */
export type StreamStep = { type: "routed"; routed: Routed<unknown> } | ChatStreamEvent;

/**
 * Every generation call, of every API, takes this one path: admitted (or refused at once when the
 * process is full), bounded by its deadline, validated, routed, and observed to its end.
 */
export class GenerationCalls {
  constructor(private readonly deps: GenerationCallsDeps) {}

  async generate(call: GenerationCall): Promise<Routed<ChatResult>> {
    const run = this.begin(call);
    try {
      const chat = await run.admit();
      const policy = cachePolicy(run.model.cacheTtlMs, call.cacheControl);
      const { value: routed, free }: Shared<Routed<ChatResult>> =
        policy === undefined
          ? {
              value: await generate(this.deps.router, call.input.model, chat, run.bounds, run.upstream),
              free: false,
            }
          : await this.deps.answers.generate({ ...this.sharedCall(run), chat, policy });
      served(run.facts, routed);
      run.facts.connectionReused = routed.value.upstream.connectionReused;
      const { usage, text } = routed.value;
      if (usage !== undefined) {
        const billed = free ? freeOf(usage) : priced(routed, usage);
        routed.value.usage = billed.usage;
        run.settle(routed, billed, false);
        // A provider that reports no usage: the ledger counts an estimate, the caller gets none.
      } else {
        const estimate = estimatedUsage(chat, text.length);
        run.settle(routed, free ? freeOf(estimate) : priced(routed, estimate), true);
      }
      run.finish(undefined);
      return routed;
    } catch (error) {
      run.finish(error);
      throw error;
    } finally {
      run.close();
    }
  }

  /**
   * A streamed generation, admitted on its first step: a stream never read holds nothing. It is
   * observed until its caller stops reading.
   */
  async *stream(call: GenerationCall): AsyncGenerator<StreamStep> {
    const run = this.begin(call);
    const { facts } = run;
    let source: { steps: AsyncGenerator<StreamStep>; free: () => boolean } | undefined;
    let settled = false;
    let routed: Routed<unknown> | undefined;
    let chat: Omit<ChatRequest, "model"> | undefined;
    let billed: Priced | undefined;
    let outputChars = 0;
    try {
      chat = await run.admit();
      const policy = cachePolicy(run.model.cacheTtlMs, call.cacheControl);
      source =
        policy === undefined
          ? { steps: this.routedSteps(call, chat, run), free: () => false }
          : this.deps.answers.stream({ ...this.sharedCall(run), chat, policy });
      for await (const step of source.steps) {
        if (step.type === "routed") {
          routed = step.routed;
          served(facts, routed);
          yield step;
        } else if (step.type === "start") {
          facts.connectionReused = step.upstream.connectionReused;
          yield step;
        } else if (step.type === "finish") {
          if (step.usage !== undefined)
            billed = source.free() ? freeOf(step.usage) : priced(routed as Routed<unknown>, step.usage);
          yield billed === undefined ? step : { ...step, usage: billed.usage };
        } else {
          outputChars += deltaChars(step);
          yield step;
        }
      }
      settled = true;
      run.finish(undefined);
    } catch (error) {
      settled = true;
      run.finish(error);
      throw error;
    } finally {
      // The caller stopped reading before the end: a cancel, whatever the signal says yet.
      if (!settled) run.finish(new GatewayError("cancelled", "the caller stopped reading the stream"));
      // Ends the upstream stream (or this caller's share of it) whichever way the stream ended.
      await source?.steps.return(undefined);
      // A stream that ended before the provider reported its usage is counted by estimate.
      if (routed !== undefined && chat !== undefined) {
        const estimate = estimatedUsage(chat, outputChars);
        const free = source?.free() ?? false;
        run.settle(
          routed,
          billed ?? (free ? freeOf(estimate) : priced(routed, estimate)),
          billed === undefined,
        );
      }
      run.close();
    }
  }

  /**
   * A stream through the router, its routed step first. The relay is started before the routed
   * step is handed out: a caller that stops there still ends it, and its end releases the
   * deployment and closes the upstream stream.
   */
  private async *routedSteps(
    call: GenerationCall,
    chat: Omit<ChatRequest, "model">,
    run: { bounds: ReturnType<typeof boundCall>; upstream: UpstreamObserver },
  ): AsyncGenerator<StreamStep> {
    const { routed, events } = await generateStream(
      this.deps.router,
      call.input.model,
      chat,
      run.bounds,
      run.upstream,
    );
    try {
      const first = await events.next();
      yield { type: "routed", routed };
      if (!first.done) yield first.value;
      yield* events;
    } finally {
      await events.return(undefined);
    }
  }

  /**
   * What the shared path needs of a call, beside its request and policy: the caller waits on its
   * own bounds (its cancel and its deadline), whatever the shared call's are.
   */
  private sharedCall(run: {
    model: RoutableModel;
    upstream: UpstreamObserver;
    bounds: ReturnType<typeof boundCall>;
  }) {
    return {
      model: run.model,
      signal: run.bounds.signal,
      defaultDeadlineMs: this.deps.defaultDeadlineMs,
      upstream: run.upstream,
    };
  }

  /**
   * What every call starts with: its observation, its facts, its upstream accounting and its
   * bounds. `admit` checks the caller's key, takes a slot, checks the request, the key's access to
   * its model and the key's quotas (each may refuse it); `settle` counts its priced usage against
   * the key; `finish` reports the call once, with all its upstream wait; `close` stops the
   * deadline, gives the slot back and settles a call that used nothing.
   */
  private begin(call: GenerationCall) {
    const { metrics, observer, shedder, limits, defaultDeadlineMs, access } = this.deps;
    const end = observer.begin(call, call.signal);
    const facts: CallFacts = { model: call.input.model, metadata: call.metadata };
    const upstream = new UpstreamObserver(metrics);
    const bounds = boundCall(call.signal, call.timeoutMs, defaultDeadlineMs);
    let release: (() => void) | undefined;
    let pass: CallPass | undefined;
    let model: RoutableModel | undefined;
    // Once per admitted call: its usage against its key, and into the ledger.
    const settle = (model: string, label: string, { usage, priced }: Priced, estimated: boolean) => {
      if (pass === undefined) return;
      const cost = { usd: usage.costUsd ?? 0, priced };
      if (cost.usd > 0) metrics.cost.inc({ key: pass.key?.name ?? "", model: label }, cost.usd);
      void pass.settle({ model, usage, cost, estimated });
      pass = undefined;
    };
    return {
      facts,
      upstream,
      bounds,
      /** The model called, once `admit` resolved it. */
      get model(): RoutableModel {
        return model as RoutableModel;
      },
      admit: async () => {
        const key = access.authenticate(call.presentedKey);
        facts.key = key?.name;
        release = shedder.admit();
        const chat = validateRequest(call.input, limits);
        model = this.resolve(key, call.input.model);
        // A slot a replica never gives back (it died) frees itself once the call's deadline is past.
        // Whole ms, within a timer's range: a gRPC deadline in µs or ns is fractional ms.
        const holdMs = Math.min(Math.ceil(call.timeoutMs ?? defaultDeadlineMs), MAX_TIMER_MS);
        pass = await access.admit(key, Date.now() + holdMs + SLOT_GRACE_MS);
        for (const [name, value] of Object.entries(pass.headers)) call.replyHeader?.(name, value);
        return chat;
      },
      settle: (routed: Routed<unknown>, billed: Priced, estimated: boolean) =>
        settle(routed.model.name, modelLabel(routed), billed, estimated),
      finish: (error: unknown) => end(error, { ...facts, upstreamWaitMs: upstream.waitedMs }),
      close: () => {
        bounds.end();
        release?.();
        // Admitted, and failed before any answer: a request that used no tokens, under the
        // model's label (a passthrough name is the caller's: failures must not grow the ledger).
        const name =
          model === undefined
            ? call.input.model
            : model.passthrough
              ? `${model.deployments[0]?.provider.name}/*`
              : model.name;
        settle(name, name, { usage: { inputTokens: 0, outputTokens: 0 }, priced: true }, false);
      },
    };
  }

  /**
   * The model called, once the key may call it by one of its names (the one called, the model's
   * own, its aliases): PERMISSION_DENIED comes before NOT_FOUND, so a key learns nothing of models
   * it may not call.
   */
  private resolve(key: CallerKey | undefined, called: string): RoutableModel {
    const { router, access } = this.deps;
    let model: RoutableModel | undefined;
    try {
      model = router.resolve(called);
    } catch (error) {
      access.authorize(key, [called]);
      throw error;
    }
    access.authorize(key, [called, model.name, ...model.aliases]);
    return model;
  }
}

/** How long past its deadline a call's concurrency slot outlives a replica that died holding it. */
const SLOT_GRACE_MS = 5_000;

/** Usage with its cost, and whether the deployment that served it has a price at all. */
interface Priced {
  usage: TokenUsage;
  priced: boolean;
}

/** The usage priced at the deployment that served it: its own price, else its model's shipped one. */
function priced(routed: Routed<unknown>, usage: TokenUsage): Priced {
  const { deployment } = routed;
  const price = priceOf(deployment.model, deployment.price);
  return { usage: { ...usage, costUsd: costOf(usage, price).usd }, priced: price !== undefined };
}

/** The usage of an answer that cost this caller nothing: replayed from the cache, or shared. */
function freeOf(usage: TokenUsage): Priced {
  return { usage: { ...usage, costUsd: 0 }, priced: true };
}

/** Usage estimated from the request and the answer's characters, for calls their provider reported none for. */
function estimatedUsage(chat: Omit<ChatRequest, "model">, outputChars: number): TokenUsage {
  return { inputTokens: estimateInputTokens(chat), outputTokens: estimateTokens(outputChars) };
}

/** What served the call: its model, provider and attempts. */
function served(facts: CallFacts, routed: Routed<unknown>): void {
  facts.model = routed.model.name;
  facts.provider = routed.deployment.provider.name;
  facts.attempts = routed.attempts;
}
