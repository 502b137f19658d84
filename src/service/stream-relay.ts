import type { MessageInitShape } from "@bufbuild/protobuf";
import type { GenerateStreamResponseSchema } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import type { ChatRequest, ChatStreamEvent } from "../providers/provider.js";
import type { Deployment, Routed } from "../router/model-router.js";
import type { RpcFacts } from "./rpc-facts.js";
import { finishReasonToProto, upstreamToProto, usageToProto } from "./to-proto.js";
import type { UpstreamObserver } from "./upstream-observer.js";

type StreamEvent = MessageInitShape<typeof GenerateStreamResponseSchema>;

export interface OpenedStream {
  iterator: AsyncIterator<ChatStreamEvent>;
  /** Events read before the stream was handed to the caller: the start and the first content. */
  head: ChatStreamEvent[];
  startedAt: number;
}

/**
 * Opens a stream and reads up to its first content event: until then nothing has reached the
 * caller, so a failure may still be retried elsewhere.
 */
export async function openStream(
  deployment: Deployment,
  chat: Omit<ChatRequest, "model">,
  signal: AbortSignal,
  observer: UpstreamObserver,
): Promise<OpenedStream> {
  const startedAt = performance.now();
  const iterator = deployment.provider
    .stream({ ...chat, model: deployment.model }, signal)
    [Symbol.asyncIterator]();
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
  if (head.at(-1)?.type === "delta") observer.firstToken(deployment, startedAt);
  return { iterator, head, startedAt };
}

/** Relays an opened stream to the caller as start, deltas and finish; ends the upstream stream with it. */
export async function* relayStream(
  routed: Routed<OpenedStream>,
  facts: RpcFacts | undefined,
  observer: UpstreamObserver,
): AsyncGenerator<StreamEvent> {
  const { iterator, head, startedAt } = routed.value;
  const { deployment } = routed;
  let failure: unknown;
  let upstream = upstreamToProto(routed, undefined);
  const events = (async function* () {
    yield* head;
    for (;;) {
      const next = await observer.wait(iterator.next());
      if (next.done) return;
      yield next.value;
    }
  })();
  try {
    for await (const event of events) {
      switch (event.type) {
        case "start":
          upstream = upstreamToProto(routed, event.upstream);
          if (facts) facts.connectionReused = event.upstream.connectionReused;
          yield { event: { case: "start", value: { id: event.id, model: routed.model.name } } };
          break;
        case "delta":
          yield { event: { case: "delta", value: { text: event.text } } };
          break;
        case "finish":
          observer.tokens(deployment, routed.model.name, event.usage);
          yield {
            event: {
              case: "finish",
              value: {
                finishReason: finishReasonToProto(event.finishReason),
                usage: usageToProto(event.usage),
                upstream,
                nonTextContent: event.nonTextContent,
              },
            },
          };
          break;
      }
    }
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    // The caller may have gone: the provider's stream must end too.
    await iterator.return?.();
    observer.attempt(deployment, failure, startedAt);
    routed.release(failure);
  }
}
