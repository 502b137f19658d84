import { GatewayError } from "../errors/gateway-error.js";
import { mediaType } from "../upstream/media-type.js";
import type { UpstreamResponse } from "../upstream/upstream-pools.js";
import type { WireFormat, WireStreamEvent } from "./provider.js";

type Body = UpstreamResponse["body"];

/** How long a finished stream's upstream gets to end it before it is reset after all. */
const STREAM_END_TIMEOUT_MS = 5_000;

/**
 * The last event of a stream (`[DONE]`, `message_stop`) comes before the upstream ends the
 * HTTP/2 stream. Resetting it there instead sends an RST_STREAM per completion, and servers
 * count those against their rapid-reset limit (nghttp2: 1000, then 33 a second) and close the
 * pooled connection with every stream on it. So the rest is read and dropped, in the background.
 */
export function readToEnd(body: Body): void {
  const signal = AbortSignal.timeout(STREAM_END_TIMEOUT_MS);
  body.dump({ limit: Number.MAX_SAFE_INTEGER, signal }).catch(() => {});
}

/** The largest unary answer read, in bytes: far above any completion, far below a memory problem. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** The largest error body read: providers' are a few hundred bytes. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** The body as text, refused past `maxBytes` instead of buffered without bound. */
export async function readText(body: Body, provider: string, maxBytes = MAX_BODY_BYTES): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      throw new GatewayError("unavailable", `${provider} answered with a body over ${maxBytes} bytes`, {
        reason: "UPSTREAM_MALFORMED",
      });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function parseJsonBody(text: string, provider: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new GatewayError("unavailable", `${provider} answered with a body that is not JSON`, {
      reason: "UPSTREAM_MALFORMED",
    });
  }
}

/**
 * The events of a 200 answer to a stream request, read as its content type says: an event stream,
 * or a whole completion from a server that ignored `stream: true` (some OpenAI-compatible ones
 * do), relayed as a stream. Anything else is not an answer this gateway can read.
 */
export function streamEvents(response: UpstreamResponse, format: WireFormat, provider: string) {
  const type = mediaType(response.headers["content-type"]);
  if (
    type === "" ||
    type === "text/event-stream" ||
    type === "text/plain" ||
    type === format.streamMediaType
  ) {
    return format.readStream(response.body.iterator({ destroyOnReturn: false }));
  }
  if (type === "application/json") return completionAsEvents(response.body, format, provider);
  throw new GatewayError(
    "unavailable",
    `${provider} answered a stream request with ${type}, not an event stream`,
    {
      reason: "UPSTREAM_MALFORMED",
    },
  );
}

async function* completionAsEvents(
  body: Body,
  format: WireFormat,
  provider: string,
): AsyncGenerator<WireStreamEvent> {
  const { id, text, ...finish } = format.parseCompletion(
    parseJsonBody(await readText(body, provider), provider),
  );
  yield { type: "id", id };
  if (text !== "") yield { type: "delta", text };
  yield { type: "finish", ...finish };
}
