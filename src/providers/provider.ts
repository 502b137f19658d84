import type { IncomingHttpHeaders } from "node:http";
import type { GatewayError } from "../errors/gateway-error.js";

/** The provider-neutral request every provider translates into its own wire format. */
export interface ChatRequest {
  /** The model name the provider is asked for. */
  model: string;
  messages: { role: "user" | "assistant"; content: string }[];
  system?: string;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop: string[];
}

export type FinishReason = "stop" | "length" | "content_filter" | "tool_calls" | "unspecified";

/** Content besides plain text: tool calls and thinking are not carried yet; refusal text is. */
export type NonTextContent = "tool_calls" | "thinking" | "refusal";

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

/** Who served a request and how it travelled; filled in by the upstream layer. */
export interface UpstreamFacts {
  origin: string;
  protocol: string;
  connectionReused: boolean;
  /** From sending the request to its response headers, in ms. */
  latencyMs: number;
}

/** A whole completion as a provider's wire format describes it. */
export interface ParsedCompletion {
  id: string;
  text: string;
  finishReason: FinishReason;
  usage: TokenUsage | undefined;
  nonTextContent: NonTextContent[];
}

export interface ChatResult extends ParsedCompletion {
  upstream: UpstreamFacts;
}

export type StreamFinish = { type: "finish" } & Omit<ParsedCompletion, "id" | "text">;

/** What a wire format's stream decoder yields: the completion id once known, text, one finish. */
export type WireStreamEvent = { type: "id"; id: string } | { type: "delta"; text: string } | StreamFinish;

export type ChatStreamEvent =
  | { type: "start"; id: string; upstream: UpstreamFacts }
  | { type: "delta"; text: string }
  | StreamFinish;

/** One configured provider, as the router and the service see it. */
export interface Provider {
  /** The configured name, e.g. "openai" or "demo". */
  readonly name: string;
  /** The origin it sends to. */
  readonly origin: string;
  generate(request: ChatRequest, signal: AbortSignal): Promise<ChatResult>;
  /** Yields a start event, deltas and one finish event; throws GatewayError on failure. */
  stream(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatStreamEvent>;
}

/** How one provider's API is spoken: the only part that differs between providers. */
export interface WireFormat {
  /** The path of the chat endpoint, appended to the base URL's path. */
  readonly path: string;
  /** Headers sent with every request, credentials included. */
  readonly headers: Record<string, string>;
  requestBody(request: ChatRequest, stream: boolean): string;
  parseCompletion(json: unknown): ParsedCompletion;
  readStream(body: AsyncIterable<Uint8Array>): AsyncGenerator<WireStreamEvent>;
  httpError(status: number, bodyText: string, headers: IncomingHttpHeaders): GatewayError;
}
