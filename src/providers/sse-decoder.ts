import { createParser, type EventSourceMessage } from "eventsource-parser";
import { GatewayError } from "../errors/gateway-error.js";

/**
 * The largest event the decoder holds, in characters. An upstream that never ends a line or an
 * event (a broken proxy, a hostile server) would otherwise grow the buffer without bound; real
 * events are kilobytes, and a tool call's arguments arrive in many small ones.
 */
export const MAX_EVENT_CHARS = 8 * 1024 * 1024;

/**
 * Decodes a server-sent event stream from raw body chunks. Bytes split anywhere (even inside
 * a UTF-8 character), CRLF or LF, multi-line data and comments are the parser's job.
 */
export async function* decodeSse(
  body: AsyncIterable<Uint8Array | string>,
  provider = "the upstream",
): AsyncGenerator<EventSourceMessage> {
  const decoder = new TextDecoder();
  let pending: EventSourceMessage[] = [];
  let overflowed = false;
  const parser = createParser({
    onEvent: (event) => pending.push(event),
    onError: (error) => {
      if (error.type === "max-buffer-size-exceeded") overflowed = true;
    },
    maxBufferSize: MAX_EVENT_CHARS,
  });
  for await (const chunk of body) {
    parser.feed(typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true }));
    if (overflowed) {
      // What came whole before the oversized event is still the upstream's answer.
      yield* pending;
      throw new GatewayError(
        "unavailable",
        `${provider} sent a stream event over ${MAX_EVENT_CHARS} characters`,
        {
          reason: "UPSTREAM_MALFORMED",
        },
      );
    }
    if (pending.length > 0) {
      const ready = pending;
      pending = [];
      yield* ready;
    }
  }
  parser.feed(decoder.decode());
  yield* pending;
}

/** An event's JSON data; data that is not JSON is the upstream's fault, not the caller's. */
export function parseEventData<T>(data: string, provider: string): T {
  try {
    return JSON.parse(data) as T;
  } catch {
    throw new GatewayError("unavailable", `${provider} sent a stream event that is not JSON`, {
      reason: "UPSTREAM_MALFORMED",
    });
  }
}
