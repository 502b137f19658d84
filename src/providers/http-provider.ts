import { toUpstreamError } from "../upstream/upstream-error.js";
import type { UpstreamPools, UpstreamResponse } from "../upstream/upstream-pools.js";
import type {
  ChatRequest,
  ChatResult,
  ChatStreamEvent,
  Provider,
  UpstreamFacts,
  WireFormat,
} from "./provider.js";

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
    const json = await this.read(response, signal, (body) => body.json());
    return { ...this.format.parseCompletion(json), upstream };
  }

  async *stream(request: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatStreamEvent> {
    const { response, upstream } = await this.send(request, true, signal);
    let started = false;
    try {
      for await (const event of this.format.readStream(response.body)) {
        if (!started) {
          started = true;
          yield { type: "start", id: event.type === "id" ? event.id : "", upstream };
        }
        if (event.type !== "id") yield event;
      }
    } catch (error) {
      throw toUpstreamError(error, this.origin, signal);
    } finally {
      // The caller may stop early; the upstream stream must not outlive it.
      if (!response.body.readableEnded) response.body.destroy();
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
      const text = await this.read(response, signal, (body) => body.text());
      throw this.format.httpError(response.statusCode, text, response.headers);
    }
    return { response, upstream };
  }

  private async read<T>(
    response: UpstreamResponse,
    signal: AbortSignal,
    reader: (body: UpstreamResponse["body"]) => Promise<T>,
  ): Promise<T> {
    try {
      return await reader(response.body);
    } catch (error) {
      throw toUpstreamError(error, this.origin, signal);
    }
  }
}
