import { countWords, DEFAULT_DEMO_TOKENS, demoTokens } from "./demo-text.js";

/** The parts of an OpenAI chat completion request the demo reads. */
export interface DemoChatRequest {
  model: string;
  messages: { role: string; content: string }[];
  max_tokens?: number;
  max_completion_tokens?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
}

/** A completion planned from the request: its tokens and the usage to report. */
export interface DemoCompletion {
  id: string;
  created: number;
  model: string;
  tokens: string[];
  finishReason: "stop" | "length";
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** Checks the body the way OpenAI does enough for the demo; returns an error message or the request. */
export function parseChatRequest(body: string): DemoChatRequest | string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return "We could not parse the JSON body of your request.";
  }
  const request = value as Partial<DemoChatRequest>;
  if (typeof request?.model !== "string") return "you must provide a model parameter";
  if (!Array.isArray(request.messages) || request.messages.length === 0) {
    return "'messages' must contain at least one message";
  }
  return request as DemoChatRequest;
}

export function planCompletion(request: DemoChatRequest, id: string): DemoCompletion {
  const prompt = request.messages.map((m) => (typeof m.content === "string" ? m.content : "")).join("\n");
  const limit = request.max_completion_tokens ?? request.max_tokens;
  const count = limit === undefined ? DEFAULT_DEMO_TOKENS : Math.min(limit, 4 * DEFAULT_DEMO_TOKENS);
  const tokens = demoTokens(prompt, count);
  const promptTokens = countWords(prompt);
  return {
    id,
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    tokens,
    finishReason: limit !== undefined && count === limit ? "length" : "stop",
    usage: { prompt_tokens: promptTokens, completion_tokens: count, total_tokens: promptTokens + count },
  };
}

export function completionJson(c: DemoCompletion): string {
  return JSON.stringify({
    id: c.id,
    object: "chat.completion",
    created: c.created,
    model: c.model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: c.tokens.join(""), refusal: null },
        logprobs: null,
        finish_reason: c.finishReason,
      },
    ],
    usage: c.usage,
  });
}

/** One SSE event of a streamed completion, as OpenAI frames it. */
export function chunkEvent(
  c: DemoCompletion,
  delta: { role?: string; content?: string },
  finishReason: string | null,
): string {
  const chunk = {
    id: c.id,
    object: "chat.completion.chunk",
    created: c.created,
    model: c.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

export function usageEvent(c: DemoCompletion): string {
  const chunk = {
    id: c.id,
    object: "chat.completion.chunk",
    created: c.created,
    model: c.model,
    choices: [],
    usage: c.usage,
  };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

export const DONE_EVENT = "data: [DONE]\n\n";

export function errorJson(message: string, type = "invalid_request_error"): string {
  return JSON.stringify({ error: { message, type, param: null, code: null } });
}
