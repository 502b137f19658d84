import { createParser, type EventSourceMessage } from "eventsource-parser";

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
