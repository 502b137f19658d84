import { FakeUpstream, type FakeUpstreamOptions } from "./fake-upstream.js";
import {
  type GeminiAnswer,
  type GenerateContentRequest,
  geminiSse,
  generateContentChunks,
  generateContentJson,
  planGemini,
} from "./gemini-format.js";
import {
  type ErrorScenario,
  errorHeaders,
  jsonReply,
  type RecordedRequest,
  type Reply,
  sseReply,
} from "./scenario.js";

export interface FakeGeminiOptions extends FakeUpstreamOptions {
  /** The key to accept, as `x-goog-api-key` or as the `key` query parameter. */
  apiKey: string;
}

/** Google's status name by HTTP status, and a message in Gemini's words. */
const ERRORS: Record<number, [status: string, message: string]> = {
  400: ["INVALID_ARGUMENT", "Request contains an invalid argument."],
  401: ["UNAUTHENTICATED", "Request had invalid authentication credentials."],
  403: ["PERMISSION_DENIED", "The caller does not have permission"],
  404: ["NOT_FOUND", "Requested entity was not found."],
  429: [
    "RESOURCE_EXHAUSTED",
    "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
  ],
  500: [
    "INTERNAL",
    "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
  ],
  503: ["UNAVAILABLE", "The model is overloaded. Please try again later."],
  504: ["DEADLINE_EXCEEDED", "Deadline expired before operation could complete."],
};

/**
 * The body Google sends for an error: `{"error": {code, message, status, details?}}`. A 429 with a
 * `retryDelay` (seconds) carries it as google.rpc.RetryInfo, after a QuotaFailure, as Gemini's do.
 */
export function geminiErrorBody(
  code: number,
  options: { status?: string; message?: string; retryDelay?: number | string; details?: object[] } = {},
): object {
  const [status, message] = ERRORS[code] ?? ["UNKNOWN", "Unknown error."];
  const retry =
    options.retryDelay === undefined
      ? []
      : [
          {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            violations: [
              {
                quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                quotaId: "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                quotaValue: "10",
              },
            ],
          },
          { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${options.retryDelay}s` },
        ];
  const details = [...(options.details ?? []), ...retry];
  return {
    error: {
      code,
      message: options.message ?? message,
      status: options.status ?? status,
      ...(details.length > 0 ? { details } : {}),
    },
  };
}

const KEY_INVALID = [
  {
    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
    reason: "API_KEY_INVALID",
    domain: "googleapis.com",
    metadata: { service: "generativelanguage.googleapis.com" },
  },
  {
    "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
    locale: "en-US",
    message: "API key not valid. Please pass a valid API key.",
  },
];

const PATH =
  /^\/(v1beta|v1|v1alpha)\/((?:models|tunedModels)\/[^/:?]+):(generateContent|streamGenerateContent)$/;
const TOP_LEVEL = new Set([
  "contents",
  "systemInstruction",
  "tools",
  "toolConfig",
  "generationConfig",
  "safetySettings",
  "cachedContent",
  "labels",
  "model",
]);
const GENERATION_CONFIG = new Set([
  "stopSequences",
  "responseMimeType",
  "responseSchema",
  "responseJsonSchema",
  "responseModalities",
  "candidateCount",
  "maxOutputTokens",
  "temperature",
  "topP",
  "topK",
  "seed",
  "presencePenalty",
  "frequencyPenalty",
  "responseLogprobs",
  "logprobs",
  "enableEnhancedCivicAnswers",
  "speechConfig",
  "thinkingConfig",
  "imageConfig",
  "mediaResolution",
]);
const PART_DATA = [
  "text",
  "inlineData",
  "fileData",
  "functionCall",
  "functionResponse",
  "executableCode",
  "codeExecutionResult",
];

/**
 * A fake Gemini API (`POST /v1beta/models/{model}:generateContent`, and
 * `:streamGenerateContent?alt=sse` or as a JSON array): the key as `x-goog-api-key` or `?key=`,
 * requests checked as Google checks them (unknown fields, roles, empty parts, function responses
 * answering calls), and Google's error bodies. Script it with `respondWith(...)`.
 */
export class FakeGemini extends FakeUpstream<GeminiAnswer> {
  constructor(private readonly config: FakeGeminiOptions) {
    super(config);
  }

  protected check(request: RecordedRequest): Reply | undefined {
    const fail = (code: number, message?: string, details?: object[]) =>
      jsonReply(
        code,
        geminiErrorBody(code, { ...(message ? { message } : {}), ...(details ? { details } : {}) }),
      );
    const url = new URL(request.path, "https://fake");
    const match = PATH.exec(url.pathname);
    if (request.method !== "POST" || !match) return fail(404, `${url.pathname} is not found.`);
    const key = request.headers["x-goog-api-key"] ?? url.searchParams.get("key") ?? undefined;
    if (key === undefined)
      return fail(
        403,
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
      );
    if (key !== this.config.apiKey)
      return fail(400, "API key not valid. Please pass a valid API key.", KEY_INVALID);
    const body = request.body as (GenerateContentRequest & Record<string, unknown>) | undefined;
    if (typeof body !== "object" || body === null || Array.isArray(body))
      return fail(400, "Invalid JSON payload received. Expected an object.");
    const problem = requestProblem(body);
    return problem ? fail(400, problem) : undefined;
  }

  protected answer(request: RecordedRequest, scenario: GeminiAnswer | ErrorScenario | undefined): Reply {
    if (scenario?.kind === "error") return this.error(scenario);
    const answer = scenario ?? { kind: "answer" };
    const url = new URL(request.path, "https://fake");
    const [, , model = ""] = PATH.exec(url.pathname) ?? [];
    const plan = planGemini(request.body as GenerateContentRequest, model.replace(/^\w+\//, ""), answer);
    const streamed =
      answer.kind === "stream" ||
      (answer.kind === "answer" && url.pathname.endsWith(":streamGenerateContent"));
    if (!streamed) return { ...jsonReply(200, generateContentJson(plan, answer)), pacing: answer };
    const chunks = generateContentChunks(plan, answer);
    if (url.searchParams.get("alt") === "sse" || answer.kind === "stream")
      return sseReply(chunks.map(geminiSse), {}, answer);
    // Without alt=sse, Gemini streams one JSON array, an element at a time.
    const pieces = chunks.map((chunk, i) => `${i === 0 ? "[" : ",\r\n"}${JSON.stringify(chunk)}`);
    return {
      type: "send",
      status: 200,
      headers: { "content-type": "application/json; charset=UTF-8" },
      pieces: [...pieces, "]"],
      pacing: answer,
    };
  }

  /** Google sends no retry-after header: a scenario's `retryAfter` becomes the body's RetryInfo. */
  private error(scenario: ErrorScenario): Reply {
    const body =
      scenario.body ??
      geminiErrorBody(scenario.status, {
        ...(scenario.type ? { status: scenario.type } : {}),
        ...(scenario.message ? { message: scenario.message } : {}),
        ...(scenario.retryAfter !== undefined ? { retryDelay: scenario.retryAfter } : {}),
      });
    return jsonReply(scenario.status, body, errorHeaders({ ...scenario, retryAfter: undefined }));
  }
}

type Turn = { role?: unknown; parts?: unknown };
type WirePart = Record<string, unknown> & {
  functionCall?: { name?: unknown };
  functionResponse?: { name?: unknown };
};

/** What Google refuses in a generateContent body, in its words; undefined when it would take it. */
function requestProblem(body: Record<string, unknown>): string | undefined {
  const unknown = Object.keys(body).find((key) => !TOP_LEVEL.has(key));
  if (unknown) return `Invalid JSON payload received. Unknown name "${unknown}": Cannot find field.`;
  const config = (body.generationConfig ?? {}) as Record<string, unknown>;
  const unknownConfig = Object.keys(config).find((key) => !GENERATION_CONFIG.has(key));
  if (unknownConfig)
    return `Invalid JSON payload received. Unknown name "${unknownConfig}" at 'generation_config': Cannot find field.`;
  const thinking = (config.thinkingConfig ?? {}) as Record<string, unknown>;
  if (thinking.thinkingLevel !== undefined && thinking.thinkingBudget !== undefined)
    return "You can only set only one of thinking budget and thinking level.";
  if (config.responseJsonSchema !== undefined && config.responseSchema !== undefined)
    return "responseSchema and responseJsonSchema cannot both be set.";
  if (config.responseJsonSchema !== undefined && config.responseMimeType !== "application/json")
    return "responseMimeType must be application/json when a response schema is set.";
  const contents = body.contents as Turn[] | undefined;
  if (!Array.isArray(contents) || contents.length === 0)
    return "* GenerateContentRequest.contents: contents is not specified\n";
  for (const [i, turn] of contents.entries()) {
    if (turn.role !== "user" && turn.role !== "model") return "Please use a valid role: user, model.";
    if (!Array.isArray(turn.parts) || turn.parts.length === 0)
      return `* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.\n`;
    for (const [j, part] of (turn.parts as WirePart[]).entries()) {
      if (!PART_DATA.some((field) => part[field] !== undefined))
        return `* GenerateContentRequest.contents[${i}].parts[${j}].data: required oneof field 'data' must have one initialized field\n`;
    }
  }
  return unansweredCall(contents);
}

/** As Gemini checks: a turn of function calls is answered by the next turn, one response per call. */
function unansweredCall(contents: Turn[]): string | undefined {
  const partsOf = (turn: Turn | undefined) => (Array.isArray(turn?.parts) ? (turn.parts as WirePart[]) : []);
  for (const [i, turn] of contents.entries()) {
    const calls = partsOf(turn).filter((p) => p.functionCall);
    const responses = partsOf(contents[i + 1]).filter((p) => p.functionResponse);
    if (
      partsOf(turn).some((p) => p.functionResponse) &&
      !partsOf(contents[i - 1]).some((p) => p.functionCall)
    )
      return "Please ensure that function response turn comes immediately after a function call turn.";
    if (calls.length === 0 || i === contents.length - 1) continue;
    if (responses.length !== calls.length)
      return "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.";
    const names = calls.map((p) => p.functionCall?.name).sort();
    if (JSON.stringify(names) !== JSON.stringify(responses.map((p) => p.functionResponse?.name).sort()))
      return "Please ensure that function response names match the function call names.";
  }
  return undefined;
}

/** Starts a fake Gemini on 127.0.0.1 with a fresh certificate (see `fake.ca`). */
export async function startFakeGemini(options: FakeGeminiOptions): Promise<FakeGemini> {
  return new FakeGemini(options).listen();
}
