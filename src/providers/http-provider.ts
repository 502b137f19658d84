import { GatewayError } from "../errors/gateway-error.js";
import { type RequestProgress, toUpstreamError } from "../upstream/upstream-error.js";
import type { UpstreamPools, UpstreamResponse } from "../upstream/upstream-pools.js";
import type {
  ChatRequest,
  ChatResult,
  ChatStreamEvent,
  Provider,
  UpstreamFacts,
  WireFormat,
} from "./provider.js";

/** How long a finished stream's upstream gets to end it before it is reset after all. */
const STREAM_END_TIMEOUT_MS = 5_000;

/**
 * The last event of a stream (`[DONE]`, `message_stop`) comes before the upstream ends the
 * HTTP/2 stream. Resetting it there instead sends an RST_STREAM per completion, and servers
 * count those against their rapid-reset limit (nghttp2: 1000, then 33 a second) and close the
 * pooled connection with every stream on it. So the rest is read and dropped, in the background.
 */
function readToEnd(body: UpstreamResponse["body"]): void {
  const signal = AbortSignal.timeout(STREAM_END_TIMEOUT_MS);
  body.dump({ limit: Number.MAX_SAFE_INTEGER, signal }).catch(() => {});
}

/** The largest unary answer read, in bytes: far above any completion, far below a memory problem. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** The body as text, refused past MAX_BODY_BYTES instead of buffered without bound. */
async function readText(body: UpstreamResponse["body"], provider: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new GatewayError("unavailable", `${provider} answered with a body over ${MAX_BODY_BYTES} bytes`, {
        reason: "UPSTREAM_MALFORMED",
      });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseBody(text: string, provider: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new GatewayError("unavailable", `${provider} answered with a body that is not JSON`, {
      reason: "UPSTREAM_MALFORMED",
    });
  }
}

/**
 * A signal that follows `signal` until released. The caller's signal also fires when its RPC
 * ends, which can be just before the upstream ends a finished stream, and undici would reset
 * the stream then.
 */
function followUntilReleased(signal: AbortSignal): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const follow = () => controller.abort(signal.reason);
  if (signal.aborted) follow();
  else signal.addEventListener("abort", follow, { once: true });
  return { signal: controller.signal, release: () => signal.removeEventListener("abort", follow) };
}

/**
 * A provider reached over HTTP through the pools: sending, status checks, error bodies,
 * cancellation and stream clean-up are the same for every API; the WireFormat is not.
 */
export class HttpProvider implements Provider {
  readonly origin: string;
  private readonly path: string;

  constructor(
    readonly name: string,
    baseUrl: string,
    private readonly format: WireFormat,
    private readonly pools: UpstreamPools,
  ) {
    const url = new URL(baseUrl);
    this.origin = url.origin;
    this.path = `${url.pathname.replace(/\/$/, "")}${format.path}`;
  }

  async generate(request: ChatRequest, signal: AbortSignal): Promise<ChatResult> {
    const { response, upstream } = await this.send(request, false, signal);
    const text = await this.read(response, signal, "answered", (body) => readText(body, this.name));
    return { ...this.format.parseCompletion(parseBody(text, this.name)), upstream };
  }

  async *stream(request: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatStreamEvent> {
    const upstreamSignal = followUntilReleased(signal);
    let body: UpstreamResponse["body"] | undefined;
    let progress: RequestProgress = "unanswered";
    let started = false;
    let complete = false;
    try {
      const { response, upstream } = await this.send(request, true, upstreamSignal.signal);
      body = response.body;
      progress = "answered";
      // Its readers stop at the last event; what happens to the rest is decided below.
      for await (const event of this.format.readStream(body.iterator({ destroyOnReturn: false }))) {
        if (!started) {
          started = true;
          yield { type: "start", id: event.type === "id" ? event.id : "", upstream };
        }
        if (event.type === "finish") {
          // The last event: from here on the caller's end of its RPC is no reason to reset.
          complete = true;
          upstreamSignal.release();
        }
        if (event.type !== "id") yield event;
      }
    } catch (error) {
      throw toUpstreamError(error, this.origin, signal, progress);
    } finally {
      upstreamSignal.release();
      if (body !== undefined && !body.readableEnded) {
        if (complete) readToEnd(body);
        // The caller stopped early or the stream failed: the upstream stream must not outlive it.
        else body.destroy();
      }
    }
  }

  private async send(
    request: ChatRequest,
    stream: boolean,
    signal: AbortSignal,
  ): Promise<{ response: UpstreamResponse; upstream: UpstreamFacts }> {
    const startedAt = performance.now();
    const response = await this.pools.request(this.origin, {
      method: "POST",
      path: this.path,
      headers: this.format.headers,
      body: this.format.requestBody(request, stream),
      signal,
    });
    const upstream: UpstreamFacts = {
      origin: this.origin,
      protocol: response.connection.protocol,
      connectionReused: response.connection.reused,
      latencyMs: performance.now() - startedAt,
    };
    if (response.statusCode !== 200) {
      // An error status is a refusal, whether or not its body arrives whole.
      const text = await this.read(response, signal, "unanswered", (body) => readText(body, this.name));
      throw this.format.httpError(response.statusCode, text, response.headers);
    }
    return { response, upstream };
  }

  private async read<T>(
    response: UpstreamResponse,
    signal: AbortSignal,
    progress: RequestProgress,
    reader: (body: UpstreamResponse["body"]) => Promise<T>,
  ): Promise<T> {
    try {
      return await reader(response.body);
    } catch (error) {
      throw toUpstreamError(error, this.origin, signal, progress);
    }
  }
}
