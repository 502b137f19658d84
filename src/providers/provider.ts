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

export interface ChatResult {
  id: string;
  text: string;
  finishReason: FinishReason;
  usage: TokenUsage | undefined;
  upstream: UpstreamFacts;
}

export type ChatStreamEvent =
  | { type: "start"; id: string; upstream: UpstreamFacts }
  | { type: "delta"; text: string }
  | { type: "finish"; finishReason: FinishReason; usage: TokenUsage | undefined };

/** One configured provider: it builds upstream requests, parses responses and maps errors. */
export interface Provider {
  /** The configured name, e.g. "openai" or "demo". */
  readonly name: string;
  /** The origin it sends to. */
  readonly origin: string;
  generate(request: ChatRequest, signal: AbortSignal): Promise<ChatResult>;
  /** Yields a start event, deltas and one finish event; throws GatewayError on failure. */
  stream(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatStreamEvent>;
}
