import { createParser, type EventSourceMessage } from "eventsource-parser";
import { GatewayError } from "../errors/gateway-error.js";

/**
 * Decodes a server-sent event stream from raw body chunks. Bytes split anywhere (even inside
 * a UTF-8 character), CRLF or LF, multi-line data and comments are the parser's job.
 */
export async function* decodeSse(
  body: AsyncIterable<Uint8Array | string>,
): AsyncGenerator<EventSourceMessage> {
  const decoder = new TextDecoder();
  let pending: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => pending.push(event) });
  for await (const chunk of body) {
    parser.feed(typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true }));
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
