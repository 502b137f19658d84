import { GatewayError } from "../errors/gateway-error.js";
import type { GatewayMetrics } from "../metrics/gateway-metrics.js";
import type { ChatResult, ChatStreamEvent } from "../providers/provider.js";
import type { ModelRouter, Routed } from "../router/model-router.js";
import { boundCall } from "./call-bounds.js";
import type { CallArrival, CallFacts, CallObserver } from "./call-observer.js";
import { generate, generateStream } from "./generation.js";
import type { LoadShedder } from "./load-shedder.js";
import { UpstreamObserver } from "./upstream-observer.js";
import { type GenerationInput, type ValidationLimits, validateRequest } from "./validate-request.js";

export interface GenerationCallsDeps {
  router: ModelRouter;
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
      const chat = run.admit();
      const routed = await generate(this.deps.router, call.input.model, chat, run.bounds, run.upstream);
      served(run.facts, routed);
      run.facts.connectionReused = routed.value.upstream.connectionReused;
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
    let relay: AsyncGenerator<ChatStreamEvent> | undefined;
    let settled = false;
    try {
      const chat = run.admit();
      const { routed, events } = await generateStream(
        this.deps.router,
        call.input.model,
        chat,
        run.bounds,
        run.upstream,
      );
      served(facts, routed);
      // The relay is started before the routed step is handed out: a caller that stops there
      // still ends it, and its end releases the deployment and closes the upstream stream.
      relay = events;
      const first = await events.next();
      yield { type: "routed", routed };
      const noted = (event: ChatStreamEvent) => {
        if (event.type === "start") facts.connectionReused = event.upstream.connectionReused;
        return event;
      };
      if (!first.done) yield noted(first.value);
      for await (const event of events) yield noted(event);
      settled = true;
      run.finish(undefined);
    } catch (error) {
      settled = true;
      run.finish(error);
      throw error;
    } finally {
      // The caller stopped reading before the end: a cancel, whatever the signal says yet.
      if (!settled) run.finish(new GatewayError("cancelled", "the caller stopped reading the stream"));
      // Ends the relay whichever way the stream ended (a no-op once it finished by itself).
      await relay?.return(undefined);
      run.close();
    }
  }

  /**
   * What every call starts with: its observation, its facts, its upstream accounting and its
   * bounds. `admit` takes a slot and checks the request (both may refuse it); `finish` reports the
   * call once, with all its upstream wait; `close` stops the deadline and gives the slot back.
   */
  private begin(call: GenerationCall) {
    const { metrics, observer, shedder, limits, defaultDeadlineMs } = this.deps;
    const end = observer.begin(call, call.signal);
    const facts: CallFacts = { model: call.input.model, metadata: call.metadata };
    const upstream = new UpstreamObserver(metrics);
    const bounds = boundCall(call.signal, call.timeoutMs, defaultDeadlineMs);
    let release: (() => void) | undefined;
    return {
      facts,
      upstream,
      bounds,
      admit: () => {
        release = shedder.admit();
        return validateRequest(call.input, limits);
      },
      finish: (error: unknown) => end(error, { ...facts, upstreamWaitMs: upstream.waitedMs }),
      close: () => {
        bounds.end();
        release?.();
      },
    };
  }
}

/** What served the call: its model, provider and attempts. */
function served(facts: CallFacts, routed: Routed<unknown>): void {
  facts.model = routed.model.name;
  facts.provider = routed.deployment.provider.name;
  facts.attempts = routed.attempts;
}
