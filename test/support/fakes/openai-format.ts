import type { Pacing } from "./scenario.js";
import { type SchemaNode, schemaInstance } from "./schema-instance.js";
import { DEFAULT_TEXT, fragments, limitTokens, promptTokens, randomId, sse, tokenize } from "./text.js";

/** Real-world chat completion stream formats the fake can speak. */
export type OpenAIFlavour = "openai-2024" | "openai-2026" | "azure" | "openrouter" | "tool-calls" | "refusal";

export interface OpenAIToolCall {
  name: string;
  /** The JSON arguments, as the model streams them. */
  arguments: string;
}

/** A successful answer. "answer" follows the request's `stream` flag; "stream"/"json" force one. */
export interface OpenAIAnswer extends Pacing {
  kind: "answer" | "stream" | "json";
  /** Default "openai-2024". */
  flavour?: OpenAIFlavour;
  /** The assistant text (or refusal); default DEFAULT_TEXT. */
  text?: string;
  /**
   * For "tool-calls"; default: a call to each tool the request names (the one `tool_choice` names,
   * only the first when `parallel_tool_calls` is false), or without tools get_weather and get_time.
   */
  toolCalls?: OpenAIToolCall[];
  /** Reasoning text sent before the answer as `reasoning_content`, the way vLLM and DeepSeek do. */
  reasoning?: string;
  /** `prompt_tokens_details.cached_tokens`; default 0. */
  cachedTokens?: number;
  /** Cut the stream after this many events with an in-band error (OpenRouter: its error chunk). */
  errorAfterEvents?: number;
  /** The in-band error's message. */
  errorMessage?: string;
  /** Azure's content filter stopping the answer: this finish reason instead of the planned one. */
  finishReason?: "content_filter";
}

export const DEFAULT_TOOL_CALLS: OpenAIToolCall[] = [
  { name: "get_weather", arguments: '{"city":"Paris","unit":"celsius"}' },
  { name: "get_time", arguments: '{"timezone":"Europe/Paris"}' },
];

/** Argument fragments streamed per tool call; each counts as one completion token. */
export const TOOL_CALL_FRAGMENTS = 3;

/** Everything one answer needs, planned from the request and the scenario. */
export interface OpenAIPlan {
  id: string;
  created: number;
  model: string;
  flavour: OpenAIFlavour;
  text: string;
  tokens: string[];
  toolCalls: (OpenAIToolCall & { id: string })[];
  /** The reasoning's tokens, streamed before the answer. */
  reasoning: string[];
  finishReason: "stop" | "length" | "tool_calls" | "content_filter";
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  cachedTokens: number;
  includeUsage: boolean;
}

/** The parts of a request body the fake answers to. */
export interface OpenAIRequestBody {
  model: string;
  messages: unknown;
  max_tokens?: number;
  max_completion_tokens?: number;
  stream_options?: { include_usage?: boolean };
  tools?: { type?: string; function?: { name?: string; parameters?: SchemaNode } }[];
  tool_choice?: string | { type?: string; function?: { name?: string } };
  parallel_tool_calls?: boolean;
  response_format?: { type?: string; json_schema?: { schema?: SchemaNode } };
}

export function planOpenAI(request: OpenAIRequestBody, answer: Partial<OpenAIAnswer> = {}): OpenAIPlan {
  const flavour = answer.flavour ?? "openai-2024";
  const tools = flavour === "tool-calls" ? (answer.toolCalls ?? requestedCalls(request)) : [];
  const limited = limitTokens(
    tokenize(answer.text ?? formattedText(request)),
    request.max_completion_tokens ?? request.max_tokens,
  );
  const tokens = tools.length ? [] : limited.tokens;
  const reasoning = answer.reasoning === undefined ? [] : tokenize(answer.reasoning);
  const prompt = promptTokens(request.messages);
  const completion = reasoning.length + (tools.length ? tools.length * TOOL_CALL_FRAGMENTS : tokens.length);
  return {
    id: flavour === "openrouter" ? randomId("gen-", 20) : randomId("chatcmpl-", 29),
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    flavour,
    text: tokens.join(""),
    tokens,
    toolCalls: tools.map((call) => ({ ...call, id: randomId("call_") })),
    reasoning,
    finishReason: answer.finishReason ?? (tools.length ? "tool_calls" : limited.cut ? "length" : "stop"),
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
    cachedTokens: Math.min(answer.cachedTokens ?? 0, prompt),
    includeUsage: request.stream_options?.include_usage === true || flavour === "openrouter",
  };
}

/** The calls a model would make to the request's tools, arguments valid for their parameters. */
function requestedCalls(request: OpenAIRequestBody): OpenAIToolCall[] {
  const functions = (request.tools ?? []).flatMap((tool) => (tool.function?.name ? [tool.function] : []));
  if (functions.length === 0) return DEFAULT_TOOL_CALLS;
  const choice = request.tool_choice;
  if (choice === "none") return [];
  const named = typeof choice === "object" ? choice.function?.name : undefined;
  const chosen = named === undefined ? functions : functions.filter((f) => f.name === named);
  return chosen.slice(0, request.parallel_tool_calls === false ? 1 : undefined).map((f) => ({
    name: f.name ?? "",
    arguments: JSON.stringify(schemaInstance(f.parameters ?? { type: "object" })),
  }));
}

/** Text in the asked `response_format`: JSON valid for a json_schema, a JSON object for json_object. */
function formattedText(request: OpenAIRequestBody): string {
  const format = request.response_format;
  if (format?.type === "json_schema") return JSON.stringify(schemaInstance(format.json_schema?.schema ?? {}));
  if (format?.type === "json_object") return JSON.stringify({ text: DEFAULT_TEXT });
  return DEFAULT_TEXT;
}

function fullUsage(plan: OpenAIPlan) {
  return {
    ...plan.usage,
    prompt_tokens_details: { cached_tokens: plan.cachedTokens, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: plan.reasoning.length,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

const SAFE = { filtered: false, severity: "safe" };
const CONTENT_FILTER = { hate: SAFE, self_harm: SAFE, sexual: SAFE, violence: SAFE };
const PROMPT_FILTER = [
  {
    prompt_index: 0,
    content_filter_results: { ...CONTENT_FILTER, jailbreak: { filtered: false, detected: false } },
  },
];

/** The `chat.completion` object of a non-streamed answer. */
export function completionJson(plan: OpenAIPlan): object {
  const refusal = plan.flavour === "refusal";
  const message = {
    role: "assistant",
    content: refusal || plan.toolCalls.length ? null : plan.text,
    refusal: refusal ? plan.text : null,
    ...(plan.reasoning.length ? { reasoning_content: plan.reasoning.join("") } : {}),
    ...(plan.toolCalls.length
      ? {
          tool_calls: plan.toolCalls.map(({ id, name, arguments: args }) => ({
            id,
            type: "function",
            function: { name, arguments: args },
          })),
        }
      : {}),
    annotations: [],
  };
  return {
    id: plan.id,
    object: "chat.completion",
    created: plan.created,
    model: plan.model,
    ...(plan.flavour === "azure" ? { prompt_filter_results: PROMPT_FILTER } : {}),
    ...(plan.flavour === "openrouter" ? { provider: "OpenAI" } : {}),
    choices: [
      {
        index: 0,
        message,
        logprobs: null,
        finish_reason: plan.finishReason,
        ...(plan.flavour === "azure" ? { content_filter_results: CONTENT_FILTER } : {}),
        ...(plan.flavour === "openrouter" ? { native_finish_reason: plan.finishReason } : {}),
      },
    ],
    usage: fullUsage(plan),
    service_tier: "default",
    system_fingerprint: "fp_fake0001",
  };
}

/** One `chat.completion.chunk` SSE event in the plan's flavour. */
function chunk(plan: OpenAIPlan, choices: object[], usage: object | null = null, extra: object = {}): string {
  const f = plan.flavour;
  return sse({
    id: plan.id,
    object: "chat.completion.chunk",
    created: plan.created,
    model: plan.model,
    ...(f === "openrouter"
      ? { provider: "OpenAI" }
      : { service_tier: "default", system_fingerprint: "fp_fake0001" }),
    choices,
    ...(usage ? { usage } : f === "openai-2026" ? { usage: null } : {}),
    ...(f === "openai-2026" ? { obfuscation: "x".repeat(1 + (plan.created % 11)) } : {}),
    ...extra,
  });
}

function choice(plan: OpenAIPlan, delta: object, finishReason: string | null = null): object {
  const f = plan.flavour;
  const filtered = f === "azure" && "content" in delta && delta.content;
  return {
    index: 0,
    delta,
    logprobs: null,
    finish_reason: finishReason,
    ...(f === "openrouter" ? { native_finish_reason: finishReason } : {}),
    ...(filtered ? { content_filter_results: CONTENT_FILTER } : {}),
  };
}

/** The delta events: text, refusal, or two (or more) tool calls interleaved fragment by fragment. */
function deltas(plan: OpenAIPlan): object[] {
  const reasoning = plan.reasoning.map((t) => ({ reasoning_content: t }));
  return [...reasoning, ...answerDeltas(plan)];
}

function answerDeltas(plan: OpenAIPlan): object[] {
  if (plan.flavour === "refusal") return plan.tokens.map((t) => ({ refusal: t }));
  if (!plan.toolCalls.length) return plan.tokens.map((t) => ({ content: t }));
  const starts = plan.toolCalls.map(({ id, name }, index) => ({
    tool_calls: [{ index, id, type: "function", function: { name, arguments: "" } }],
  }));
  const parts = plan.toolCalls.map((call) => fragments(call.arguments, TOOL_CALL_FRAGMENTS));
  const rest: object[] = [];
  for (let round = 0; round < TOOL_CALL_FRAGMENTS; round++) {
    parts.forEach((list, index) => {
      const piece = list[round];
      if (piece !== undefined) rest.push({ tool_calls: [{ index, function: { arguments: piece } }] });
    });
  }
  return [...starts, ...rest];
}

/** The SSE events of a streamed answer, `data: [DONE]` included. */
export function streamEvents(plan: OpenAIPlan, answer: Partial<OpenAIAnswer> = {}): string[] {
  const f = plan.flavour;
  const first =
    f === "refusal" || f === "tool-calls"
      ? { role: "assistant", content: null, refusal: f === "refusal" ? "" : null }
      : { role: "assistant", content: "", refusal: null };
  const events = [
    ...(f === "openrouter" ? [": OPENROUTER PROCESSING\n\n", ": OPENROUTER PROCESSING\n\n"] : []),
    ...(f === "azure"
      ? [
          sse({
            choices: [],
            created: 0,
            id: "",
            model: "",
            object: "",
            prompt_filter_results: PROMPT_FILTER,
          }),
        ]
      : []),
    chunk(plan, [choice(plan, first)]),
    ...deltas(plan).map((delta) => chunk(plan, [choice(plan, delta)])),
    chunk(plan, [
      choice(plan, f === "openrouter" ? { role: "assistant", content: "" } : {}, plan.finishReason),
    ]),
  ];
  if (plan.includeUsage) {
    const choices =
      f === "openrouter" ? [choice(plan, { role: "assistant", content: "" }, plan.finishReason)] : [];
    events.push(chunk(plan, choices, fullUsage(plan)));
  }
  const cut = answer.errorAfterEvents;
  if (cut === undefined) return [...events, "data: [DONE]\n\n"];
  const message =
    answer.errorMessage ?? "The server had an error while processing your request. Sorry about that!";
  if (f === "openrouter") {
    const failed = chunk(plan, [choice(plan, { content: "" }, "error")], null, {
      error: { code: 400, message },
    });
    return [...events.slice(0, cut), failed, "data: [DONE]\n\n"];
  }
  return [
    ...events.slice(0, cut),
    sse({ error: { message, type: "server_error", param: null, code: null } }),
  ];
}
