import type { IncomingHttpHeaders } from "node:http";
import type { GatewayError } from "../errors/gateway-error.js";

/** A piece of a turn. */
export type ContentPart = { type: "text"; text: string } | { type: "image"; image: ImageSource };

/** An image by URL (https: or data:), or inline as base64 with its media type. */
export type ImageSource = { url: string } | { mediaType: string; base64: string };

/** The model asking for a tool to be run; `arguments` is JSON text as the model wrote it. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * The model's reasoning, where the provider returns it: text (and Anthropic's signature), or
 * Anthropic's encrypted `redacted_thinking` data. Sent back with its turn as it came.
 */
export interface Reasoning {
  text: string;
  signature?: string | undefined;
  redactedData?: string | undefined;
}

/** One turn of the conversation, provider-neutral. */
export type ChatMessage =
  | { role: "user"; content: ContentPart[] }
  | { role: "assistant"; content: ContentPart[]; toolCalls: ToolCall[]; reasoning: Reasoning[] }
  | { role: "tool"; toolCallId: string; content: ContentPart[]; isError: boolean };

/** A function the model may call; `parameters` is its JSON Schema (an object schema). */
export interface ToolDefinition {
  name: string;
  description?: string | undefined;
  parameters: Record<string, unknown>;
  strict?: boolean | undefined;
}

export type ToolChoice =
  | { type: "auto" }
  | { type: "none" }
  | { type: "required" }
  | { type: "tool"; name: string };

export type ResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | {
      type: "json_schema";
      name: string;
      schema: Record<string, unknown>;
      description?: string | undefined;
      strict?: boolean | undefined;
    };

export type ReasoningEffort = "minimal" | "low" | "medium" | "high";

/** The provider-neutral request every provider translates into its own wire format. */
export interface ChatRequest {
  /** The model name the provider is asked for. */
  model: string;
  messages: ChatMessage[];
  system?: string;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop: string[];
  tools: ToolDefinition[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  responseFormat?: ResponseFormat;
  /** OpenAI's reasoning_effort. */
  reasoningEffort?: ReasoningEffort;
  /** Anthropic's thinking budget; turns thinking on. */
  reasoningBudgetTokens?: number;
  seed?: number;
  user?: string;
}

export type FinishReason = "stop" | "length" | "content_filter" | "tool_calls" | "unspecified";

/** Content a provider returned that the contract does not carry yet. */
export type NonTextContent = "tool_calls" | "thinking" | "refusal";

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  /** Of inputTokens, read from the provider's prompt cache. */
  cachedInputTokens?: number | undefined;
  /** Of outputTokens, spent on reasoning. */
  reasoningTokens?: number | undefined;
  /** What the tokens cost in USD: priced by the gateway's service, never by a provider. */
  costUsd?: number | undefined;
}

/** Who served a request and how it travelled; filled in by the upstream layer. */
export interface UpstreamFacts {
  origin: string;
  protocol: string;
  connectionReused: boolean;
  /** From sending the request to its response headers, in ms. */
  latencyMs: number;
  /** Replayed from the gateway's response cache: no upstream request was made. */
  cached?: boolean | undefined;
}

/** A whole completion as a provider's wire format describes it. */
export interface ParsedCompletion {
  id: string;
  text: string;
  finishReason: FinishReason;
  usage: TokenUsage | undefined;
  nonTextContent: NonTextContent[];
  /** In the order the model made them. */
  toolCalls: ToolCall[];
  reasoning: Reasoning[];
  /** The model declined, and said why ("" when it did not). */
  refusal: string;
}

export interface ChatResult extends ParsedCompletion {
  upstream: UpstreamFacts;
}

/**
 * The last event of a stream. Its tool calls, reasoning and refusal are the stream's pieces
 * assembled (see StreamAssembler), so a caller may read either.
 */
export type StreamFinish = { type: "finish" } & Omit<ParsedCompletion, "id" | "text">;

/** A piece of the tool call at `index`: its id and name come in its first piece. */
export interface ToolCallDelta {
  type: "tool_call_delta";
  index: number;
  id?: string | undefined;
  name?: string | undefined;
  arguments: string;
}

/** A piece of the reasoning block at `index`; Anthropic's signature arrives last, alone. */
export interface ReasoningDelta {
  type: "reasoning_delta";
  index: number;
  text?: string | undefined;
  signature?: string | undefined;
  redactedData?: string | undefined;
}

/** Pieces of a stream's content, in the order they arrive. */
export type ContentDelta =
  | { type: "delta"; text: string }
  | { type: "refusal_delta"; text: string }
  | ToolCallDelta
  | ReasoningDelta;

/** What a wire format's stream decoder yields: the completion id once known, pieces, one finish. */
export type WireStreamEvent = { type: "id"; id: string } | ContentDelta | WireStreamFinish;

/** A decoder's finish: why and how much; the assembled content is added from the pieces. */
export type WireStreamFinish = Omit<StreamFinish, "toolCalls" | "reasoning" | "refusal">;

export type ChatStreamEvent =
  | { type: "start"; id: string; upstream: UpstreamFacts }
  | ContentDelta
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
/** A request about to be sent, as a signature covers it. */
export interface SignableRequest {
  method: string;
  /** The whole URL: origin, path and query. */
  url: URL;
  headers: Record<string, string>;
  body: string;
}

export interface WireFormat {
  /**
   * The chat endpoint's path (with its query, if any), appended to the base URL's path: fixed, or
   * naming the model and whether it streams where the API puts them in the URL (Azure's deployments,
   * Gemini's `models/{model}:streamGenerateContent`).
   */
  path(request: ChatRequest, stream: boolean): string;
  /** Headers sent with every request, credentials included. */
  readonly headers: Record<string, string>;
  /**
   * Headers that depend on the request itself, added to `headers` as it is sent: a signature over
   * it (AWS's SigV4) rather than a key.
   */
  sign?(request: SignableRequest): Promise<Record<string, string>>;
  /** The media type of its streams when they are not `text/event-stream` (Bedrock's binary event stream). */
  readonly streamMediaType?: string;
  requestBody(request: ChatRequest, stream: boolean): string;
  parseCompletion(json: unknown): ParsedCompletion;
  readStream(body: AsyncIterable<Uint8Array>): AsyncGenerator<WireStreamEvent>;
  httpError(status: number, bodyText: string, headers: IncomingHttpHeaders): GatewayError;
}
