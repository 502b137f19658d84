import { EventStreamCodec, type Message, type MessageHeaders } from "@smithy/eventstream-codec";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import { GatewayError } from "../errors/gateway-error.js";

/**
 * The largest message the decoder holds, in bytes: the event stream's own limit is 16 MiB
 * (a prelude of 12 bytes, headers up to 128 KiB, the payload, a checksum of 4).
 */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Total length, headers length, prelude CRC; a message's trailing CRC makes the smallest 16. */
const PRELUDE_BYTES = 12;
const MIN_MESSAGE_BYTES = 16;

/** One message of an `application/vnd.amazon.eventstream` body, its string headers as strings. */
export interface EventStreamMessage {
  headers: Record<string, string>;
  body: Uint8Array;
}

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/**
 * Decodes AWS's binary event stream from body chunks cut anywhere: each message is collected by
 * its length prefix, then checked (both CRC32s) and parsed by the codec. A message that does not
 * check out, or a body that ends inside one, is the upstream's fault.
 */
export async function* decodeEventStream(
  body: AsyncIterable<Uint8Array>,
  provider = "the upstream",
): AsyncGenerator<EventStreamMessage> {
  // Chunks are joined only when a length prefix or a whole message is there: a message that
  // arrives a byte at a time is copied once, not once per byte.
  let chunks: Uint8Array[] = [];
  let size = 0;
  let expected = 0;
  const joined = (): Buffer => {
    const whole = Buffer.concat(chunks);
    chunks = [whole];
    return whole;
  };
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.byteLength;
    while (size >= (expected || PRELUDE_BYTES)) {
      if (expected === 0) {
        expected = joined().readUInt32BE(0);
        if (expected < MIN_MESSAGE_BYTES || expected > MAX_MESSAGE_BYTES)
          throw malformed(provider, `a message of ${expected} bytes`);
        continue;
      }
      const all = joined();
      yield decodeMessage(all.subarray(0, expected), provider);
      chunks = [all.subarray(expected)];
      size -= expected;
      expected = 0;
    }
  }
  if (size > 0) {
    throw new GatewayError("unavailable", `${provider} ended the event stream inside a message`, {
      reason: "UPSTREAM_STREAM_CUT",
    });
  }
}

function decodeMessage(bytes: Uint8Array, provider: string): EventStreamMessage {
  let message: Message;
  try {
    message = codec.decode(bytes);
  } catch (error) {
    throw malformed(provider, (error as Error).message);
  }
  return { headers: stringHeaders(message.headers), body: message.body };
}

/** The headers this protocol sends are strings (`:event-type`, `:message-type`, ...); others are left out. */
function stringHeaders(headers: MessageHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, header] of Object.entries(headers)) {
    if (header.type === "string") out[name] = header.value;
  }
  return out;
}

/** A message's payload as JSON; a payload that is not is the upstream's fault. */
export function messageJson<T>(message: EventStreamMessage, provider: string): T {
  try {
    return JSON.parse(toUtf8(message.body)) as T;
  } catch {
    throw malformed(provider, "an event whose payload is not JSON");
  }
}

function malformed(provider: string, problem: string): GatewayError {
  return new GatewayError("unavailable", `${provider} sent a malformed event stream: ${problem}`, {
    reason: "UPSTREAM_MALFORMED",
  });
}
