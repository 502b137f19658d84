import type { ChatRequest, ChatResult, ChatStreamEvent } from "../providers/provider.js";
import type { CallBounds, ModelRouter, Routed } from "../router/model-router.js";
import type { UpstreamObserver } from "./upstream-observer.js";

type Chat = Omit<ChatRequest, "model">;

/**
 * One generation through the router, whichever API asked for it: every attempt observed and
 * the deployment released.
 */
export async function generate(
  router: ModelRouter,
  model: string,
  chat: Chat,
  bounds: CallBounds,
  observer: UpstreamObserver,
): Promise<Routed<ChatResult>> {
  const routed = await router.run(
    model,
    async (deployment) => {
      const startedAt = performance.now();
      try {
        const result = await observer.wait(
          deployment.provider.generate({ ...chat, model: deployment.model }, bounds.signal),
        );
        observer.attempt(deployment, undefined, startedAt);
        return result;
      } catch (error) {
        observer.attempt(deployment, error, startedAt);
        throw error;
      }
    },
    bounds,
  );
  routed.release();
  observer.tokens(routed.deployment, modelLabel(routed), routed.value.usage);
  return routed;
}

interface OpenedStream {
  iterator: AsyncIterator<ChatStreamEvent>;
  /** Events read before the stream was handed to the caller: the start and the first content. */
  head: ChatStreamEvent[];
  startedAt: number;
}

/**
 * A streamed generation through the router. Nothing reaches the caller before the stream's first
 * content event, so a failure until then may be retried elsewhere, unless the upstream had begun
 * its answer (the provider marks that: it is never sent twice). The events end the upstream
 * stream when the caller stops reading.
 */
export async function generateStream(
  router: ModelRouter,
  model: string,
  chat: Chat,
  bounds: CallBounds,
  observer: UpstreamObserver,
): Promise<{ routed: Routed<unknown>; events: AsyncGenerator<ChatStreamEvent> }> {
  const routed = await router.run(
    model,
    async (deployment): Promise<OpenedStream> => {
      const startedAt = performance.now();
      const request = { ...chat, model: deployment.model };
      const iterator = deployment.provider.stream(request, bounds.signal)[Symbol.asyncIterator]();
      const head: ChatStreamEvent[] = [];
      try {
        for (;;) {
          const next = await observer.wait(iterator.next());
          if (next.done) break;
          head.push(next.value);
          if (next.value.type !== "start") break;
        }
      } catch (error) {
        observer.attempt(deployment, error, startedAt);
        await iterator.return?.();
        throw error;
      }
      // The first piece of content of any kind (text, a tool call, reasoning) is the first token.
      const first = head.at(-1)?.type;
      if (first !== undefined && first !== "start" && first !== "finish")
        observer.firstToken(deployment, startedAt);
      return { iterator, head, startedAt };
    },
    bounds,
  );
  return { routed, events: relay(routed, modelLabel(routed), observer) };
}

async function* relay(
  routed: Routed<OpenedStream>,
  label: string,
  observer: UpstreamObserver,
): AsyncGenerator<ChatStreamEvent> {
  const { iterator, head, startedAt } = routed.value;
  let failure: unknown;
  try {
    for (const event of head) yield noted(event);
    for (;;) {
      const next = await observer.wait(iterator.next());
      if (next.done) return;
      yield noted(next.value);
    }
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    // The caller may have gone: the provider's stream must end too.
    await iterator.return?.();
    observer.attempt(routed.deployment, failure, startedAt);
    routed.release(failure);
  }

  function noted(event: ChatStreamEvent): ChatStreamEvent {
    if (event.type === "finish") observer.tokens(routed.deployment, label, event.usage);
    return event;
  }
}

/**
 * The model's metric label. A passthrough model's name is the caller's to choose, so it folds into
 * its provider's `<provider>/*` and the label's values stay bounded by the configuration.
 */
export function modelLabel(routed: Routed<unknown>): string {
  return routed.model.passthrough ? `${routed.deployment.provider.name}/*` : routed.model.name;
}
