import { countWords, DEFAULT_DEMO_TOKENS, demoTokens } from "./demo-text.js";
import { schemaInstance } from "./json-schema-instance.js";

/** The parts of an OpenAI chat completion request the demo reads. */
export interface DemoChatRequest {
  model: string;
  messages: { role: string; content: unknown }[];
  max_tokens?: number;
  max_completion_tokens?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  tools?: { type: "function"; function: { name: string; parameters?: unknown } }[];
  tool_choice?: "auto" | "none" | "required" | { type: "function"; function: { name: string } };
  parallel_tool_calls?: boolean;
  response_format?:
    | { type: "text" | "json_object" }
    | { type: "json_schema"; json_schema: { schema?: unknown } };
}

/** A call the demo makes to one of the request's tools. */
export interface DemoToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** A completion planned from the request: its tokens or tool calls, and the usage to report. */
export interface DemoCompletion {
  id: string;
  created: number;
  model: string;
  tokens: string[];
  toolCalls: DemoToolCall[];
  finishReason: "stop" | "length" | "tool_calls";
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

/**
 * The demo's answer: deterministic words from the prompt; or, when the request offers tools and
 * the conversation does not end with their results, a call to each offered tool (one when
 * parallel calls are off, the named one when the choice names one) with arguments that fit its
 * schema; or JSON that fits the requested response format.
 */
export function planCompletion(request: DemoChatRequest, id: string): DemoCompletion {
  const prompt = request.messages.map((m) => textOf(m.content)).join("\n");
  const promptTokens = countWords(prompt);
  const base = { id, created: Math.floor(Date.now() / 1000), model: request.model };
  const toolCalls = plannedCalls(request, prompt, id);
  if (toolCalls.length > 0) {
    const completionTokens = toolCalls.reduce((sum, call) => sum + argumentPieces(call.arguments).length, 0);
    return {
      ...base,
      tokens: [],
      toolCalls,
      finishReason: "tool_calls",
      usage: usage(promptTokens, completionTokens),
    };
  }
  const format = request.response_format;
  if (format?.type === "json_schema" || format?.type === "json_object") {
    const json = JSON.stringify(
      schemaInstance(format.type === "json_schema" ? format.json_schema.schema : {}, wordSource(prompt)),
    );
    const tokens = argumentPieces(json);
    return {
      ...base,
      tokens,
      toolCalls: [],
      finishReason: "stop",
      usage: usage(promptTokens, tokens.length),
    };
  }
  const limit = request.max_completion_tokens ?? request.max_tokens;
  const count = limit === undefined ? DEFAULT_DEMO_TOKENS : Math.min(limit, 4 * DEFAULT_DEMO_TOKENS);
  return {
    ...base,
    tokens: demoTokens(prompt, count),
    toolCalls: [],
    finishReason: limit !== undefined && count === limit ? "length" : "stop",
    usage: usage(promptTokens, count),
  };
}

function plannedCalls(request: DemoChatRequest, prompt: string, id: string): DemoToolCall[] {
  const tools = request.tools ?? [];
  const choice = request.tool_choice;
  const answered = request.messages.at(-1)?.role === "tool";
  if (tools.length === 0 || choice === "none" || answered) return [];
  const named =
    typeof choice === "object" ? tools.filter((t) => t.function.name === choice.function.name) : tools;
  const called =
    request.parallel_tool_calls === false || typeof choice === "object" ? named.slice(0, 1) : named;
  return called.map((tool, i) => ({
    id: `call_${id.slice(-6)}_${i}`,
    name: tool.function.name,
    arguments: JSON.stringify(schemaInstance(tool.function.parameters, wordSource(prompt))),
  }));
}

/**
 * Strings for generated JSON, one at a time: the names in the prompt first (its capitalized words
 * after the first, "Paris" in "What is the weather in Paris?"), then its deterministic demo words.
 */
function wordSource(prompt: string): () => string {
  const names = new Set<string>();
  // Word by word, in one pass: a capitalized word that is not the prompt's first.
  for (const [i, word] of prompt.split(/\s+/).entries())
    if (i > 0 && names.size < 16) {
      const name = /^\p{Lu}[\p{L}\p{N}-]*/u.exec(word)?.[0];
      if (name) names.add(name);
    }
  const words = [...names, ...demoTokens(prompt, 64).map((word) => word.trim())];
  let next = 0;
  return () => words[next++ % words.length] as string;
}

/** Streamed JSON (tool arguments, structured output) in pieces of up to 8 characters. */
function argumentPieces(json: string): string[] {
  return json.match(/[\s\S]{1,8}/g) ?? [];
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part: { type?: string; text?: string }) => (part.type === "text" ? (part.text ?? "") : ""))
    .join("");
}

const usage = (prompt: number, completion: number) => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
});

export function completionJson(c: DemoCompletion): string {
  return JSON.stringify({
    id: c.id,
    object: "chat.completion",
    created: c.created,
    model: c.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: c.toolCalls.length > 0 ? null : c.tokens.join(""),
          refusal: null,
          ...(c.toolCalls.length > 0
            ? {
                tool_calls: c.toolCalls.map(({ id, name, arguments: args }) => ({
                  id,
                  type: "function",
                  function: { name, arguments: args },
                })),
              }
            : {}),
        },
        logprobs: null,
        finish_reason: c.finishReason,
      },
    ],
    usage: c.usage,
  });
}

/** One SSE event of a streamed completion, as OpenAI frames it. */
/** Every event of a streamed completion: text token by token, or tool calls fragment by fragment, as OpenAI sends them. */
export function streamEvents(c: DemoCompletion, includeUsage: boolean): string[] {
  const calls = c.toolCalls.flatMap(({ id, name, arguments: args }, index) => [
    chunkEvent(c, { tool_calls: [{ index, id, type: "function", function: { name, arguments: "" } }] }, null),
    ...argumentPieces(args).map((piece) =>
      chunkEvent(c, { tool_calls: [{ index, function: { arguments: piece } }] }, null),
    ),
  ]);
  return [
    chunkEvent(c, { role: "assistant", content: c.toolCalls.length > 0 ? null : "" }, null),
    ...c.tokens.map((token) => chunkEvent(c, { content: token }, null)),
    ...calls,
    chunkEvent(c, {}, c.finishReason),
    ...(includeUsage ? [usageEvent(c)] : []),
    DONE_EVENT,
  ];
}

function chunkEvent(c: DemoCompletion, delta: Record<string, unknown>, finishReason: string | null): string {
  const chunk = {
    id: c.id,
    object: "chat.completion.chunk",
    created: c.created,
    model: c.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

function usageEvent(c: DemoCompletion): string {
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
