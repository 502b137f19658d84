import { toUpstreamError } from "../../upstream/upstream-error.js";
import type { UpstreamPools, UpstreamResponse } from "../../upstream/upstream-pools.js";
import type { ChatRequest, ChatResult, ChatStreamEvent, Provider, UpstreamFacts } from "../provider.js";
import { httpError } from "./errors.js";
import { chatCompletionBody } from "./request.js";
import { parseChatCompletion } from "./response.js";
import { readChatStream } from "./stream.js";

export interface OpenAIProviderOptions {
  name: string;
  /** e.g. https://api.openai.com/v1; `/chat/completions` is appended. */
  baseUrl: string;
  apiKey?: string | undefined;
  pools: UpstreamPools;
}

/** OpenAI's chat completions API, and every server that speaks it (vLLM, Ollama, the demo). */
export class OpenAIProvider implements Provider {
  readonly name: string;
  readonly origin: string;
  private readonly path: string;
  private readonly headers: Record<string, string>;
  private readonly pools: UpstreamPools;

  constructor(options: OpenAIProviderOptions) {
    const url = new URL(options.baseUrl);
    this.name = options.name;
    this.origin = url.origin;
    this.path = `${url.pathname.replace(/\/$/, "")}/chat/completions`;
    this.pools = options.pools;
    this.headers = { "content-type": "application/json", accept: "application/json" };
    if (options.apiKey) this.headers.authorization = `Bearer ${options.apiKey}`;
  }

  async generate(request: ChatRequest, signal: AbortSignal): Promise<ChatResult> {
    const { response, upstream } = await this.send(request, false, signal);
    const json = await this.read(response, signal, (body) => body.json());
    return { ...parseChatCompletion(json, this.name), upstream };
  }

  async *stream(request: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatStreamEvent> {
    const { response, upstream } = await this.send(request, true, signal);
    let started = false;
    try {
      for await (const event of readChatStream(response.body, this.name)) {
        if (event.type === "id") {
          started = true;
          yield { type: "start", id: event.id, upstream };
          continue;
        }
        if (!started) {
          started = true;
          yield { type: "start", id: "", upstream };
        }
        yield event;
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
      headers: this.headers,
      body: chatCompletionBody(request, stream),
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
      throw httpError(response.statusCode, text, this.name);
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
