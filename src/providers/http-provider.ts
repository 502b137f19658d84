import { GatewayError } from "../errors/gateway-error.js";
import { type RequestProgress, toUpstreamError } from "../upstream/upstream-error.js";
import type {
  OriginOptions,
  OriginRegistry,
  UpstreamOrigin,
  UpstreamResponse,
} from "../upstream/upstream-pools.js";
import type {
  ChatRequest,
  ChatResult,
  ChatStreamEvent,
  Provider,
  UpstreamFacts,
  WireFormat,
} from "./provider.js";
import { MAX_ERROR_BODY_BYTES, parseJsonBody, readText, readToEnd, streamEvents } from "./response-body.js";
import { StreamAssembler } from "./stream-assembler.js";

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
  /** The base URL's path, without its last slash: the format's path is appended to it. */
  private readonly basePath: string;
  private readonly upstream: UpstreamOrigin;

  constructor(
    readonly name: string,
    baseUrl: string,
    private readonly format: WireFormat,
    pools: OriginRegistry,
    originOptions: OriginOptions = {},
  ) {
    const url = new URL(baseUrl);
    this.origin = url.origin;
    this.upstream = pools.register(url.origin, originOptions);
    this.basePath = url.pathname.replace(/\/$/, "");
  }

  async generate(request: ChatRequest, signal: AbortSignal): Promise<ChatResult> {
    const { response, upstream } = await this.send(request, false, signal);
    const text = await readText(response.body, this.name).catch((error: unknown) => {
      throw toUpstreamError(error, this.origin, signal, "answered");
    });
    return { ...this.format.parseCompletion(parseJsonBody(text, this.name)), upstream };
  }

  async *stream(request: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatStreamEvent> {
    const upstreamSignal = followUntilReleased(signal);
    let body: UpstreamResponse["body"] | undefined;
    let progress: RequestProgress = "unsent";
    let started = false;
    let complete = false;
    const assembler = new StreamAssembler(this.name);
    try {
      const { response, upstream } = await this.send(request, true, upstreamSignal.signal);
      body = response.body;
      progress = "answered";
      // Its readers stop at the last event; what happens to the rest is decided below.
      for await (const event of streamEvents(response, this.format, this.name)) {
        if (!started) {
          started = true;
          yield { type: "start", id: event.type === "id" ? event.id : "", upstream };
        }
        if (event.type === "id") continue;
        if (event.type === "finish") {
          // The last event: from here on the caller's end of its RPC is no reason to reset.
          complete = true;
          upstreamSignal.release();
          yield assembler.finish(event);
        } else {
          assembler.add(event);
          yield event;
        }
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

  /**
   * The request in the provider's format. What cannot be written (a refusal of a field, or a value
   * the format cannot hold) is the request's fault, never the deployment's: not retried, not counted.
   */
  private body(request: ChatRequest, stream: boolean): string {
    try {
      return this.format.requestBody(request, stream);
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      throw new GatewayError(
        "invalid_argument",
        `the request cannot be written for provider ${this.name}: ${(error as Error).message}`,
        {
          reason: "UNSENDABLE_REQUEST",
        },
      );
    }
  }

  private async send(
    request: ChatRequest,
    stream: boolean,
    signal: AbortSignal,
  ): Promise<{ response: UpstreamResponse; upstream: UpstreamFacts }> {
    const body = this.body(request, stream);
    const path = `${this.basePath}${this.format.path(request, stream)}`;
    const { headers, sign } = this.format;
    const startedAt = performance.now();
    const response = await this.upstream.request({
      method: "POST",
      path,
      headers: sign
        ? { ...headers, ...(await sign({ method: "POST", url: new URL(path, this.origin), headers, body })) }
        : headers,
      body,
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
      const text = await readText(response.body, this.name, MAX_ERROR_BODY_BYTES).catch(() => "");
      throw this.format.httpError(response.statusCode, text, response.headers);
    }
    return { response, upstream };
  }
}
