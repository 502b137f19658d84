import { randomBytes } from "node:crypto";
import type { Pacing } from "./scenario.js";
import { type SchemaNode, schemaInstance } from "./schema-instance.js";
import { DEFAULT_TEXT, limitTokens, promptTokens, randomId, tokenize } from "./text.js";

/** Real-world Gemini answers the fake can give. */
export type GeminiFlavour =
  /** Text, in chunks of a few words; the last chunk carries STOP and the whole usage. */
  | "gemini"
  /** Thought summary parts first (includeThoughts), then text; a thought signature after (Gemini 3). */
  | "thinking"
  /** Function calls (one per declared function), the first signed, as Gemini 3 sends them. */
  | "function-call"
  /** promptFeedback.blockReason and no candidate at all: the prompt was blocked. */
  | "blocked-prompt"
  /** Some text, then a candidate with finishReason SAFETY and no content. */
  | "safety"
  /** An `{"error": ...}` event after a few chunks of a 200 stream (errorAfterEvents). */
  | "error-chunk";

/** A successful answer. "answer" follows the request's method; "stream"/"json" force one. */
export interface GeminiAnswer extends Pacing {
  kind: "answer" | "stream" | "json";
  /** Default "gemini"; a request with includeThoughts answers as "thinking". */
  flavour?: GeminiFlavour;
  /** The text; default DEFAULT_TEXT. */
  text?: string;
  /** The thought summary of "thinking"; default DEFAULT_GEMINI_THOUGHT. */
  thinking?: string;
  /** For "function-call": the calls. Default: one per declared function, else DEFAULT_FUNCTION_CALL. */
  functionCalls?: { name: string; args: Record<string, unknown> }[];
  /** Give function calls an `id` (Gemini need not). */
  functionCallIds?: boolean;
  /** For "blocked-prompt"; default "SAFETY". */
  blockReason?: string;
  /** Replaces the candidate's finish reason (e.g. "RECITATION", "MALFORMED_FUNCTION_CALL"). */
  finishReason?: string;
  /** cachedContentTokenCount; promptTokenCount includes them, as Gemini counts. */
  cachedTokens?: number;
  /** Words per stream chunk; default 3. */
  wordsPerChunk?: number;
  /** For "error-chunk": chunks before the error (default 2), and the error itself. */
  errorAfterEvents?: number;
  errorCode?: number;
  errorStatus?: string;
  errorMessage?: string;
}

export const DEFAULT_GEMINI_THOUGHT = "**Greeting the user** I will answer with a short greeting.";
export const DEFAULT_FUNCTION_CALL = { name: "get_weather", args: { city: "Paris" } };

interface Declaration {
  name: string;
  parameters?: SchemaNode;
  parametersJsonSchema?: SchemaNode;
}

/** The parts of a generateContent request body the fake reads. */
export interface GenerateContentRequest {
  contents?: { role?: string; parts?: unknown[] }[];
  systemInstruction?: { parts?: unknown[] };
  tools?: { functionDeclarations?: Declaration[] }[];
  toolConfig?: { functionCallingConfig?: { mode?: string; allowedFunctionNames?: string[] } };
  generationConfig?: {
    maxOutputTokens?: number;
    stopSequences?: string[];
    responseMimeType?: string;
    responseSchema?: SchemaNode;
    responseJsonSchema?: SchemaNode;
    thinkingConfig?: { includeThoughts?: boolean };
  };
}

export interface GeminiPlan {
  responseId: string;
  modelVersion: string;
  flavour: GeminiFlavour;
  thought: string[];
  signature: string;
  text: string[];
  calls: { id?: string; name: string; args: Record<string, unknown> }[];
  finishReason: string;
  usage: {
    promptTokenCount: number;
    candidatesTokenCount: number;
    thoughtsTokenCount?: number;
    cachedContentTokenCount?: number;
    totalTokenCount: number;
  };
}

export function planGemini(
  request: GenerateContentRequest,
  model: string,
  answer: Partial<GeminiAnswer> = {},
): GeminiPlan {
  const config = request.generationConfig ?? {};
  const flavour =
    answer.flavour ??
    (config.thinkingConfig?.includeThoughts ? "thinking" : forcedCall(request) ? "function-call" : "gemini");
  const schema = config.responseJsonSchema ?? config.responseSchema;
  let text = schema ? JSON.stringify(schemaInstance(schema)) : (answer.text ?? DEFAULT_TEXT);
  const stop = config.stopSequences?.find((s) => text.includes(s));
  if (stop !== undefined) text = text.slice(0, text.indexOf(stop));
  const limited = limitTokens(tokenize(text), config.maxOutputTokens);
  const calls = flavour === "function-call" ? functionCalls(request, answer) : [];
  const words = flavour === "function-call" || flavour === "blocked-prompt" ? [] : limited.tokens;
  const thought = flavour === "thinking" ? tokenize(answer.thinking ?? DEFAULT_GEMINI_THOUGHT) : [];
  const cached = answer.cachedTokens ?? 0;
  const prompt = promptTokens(
    (request.contents ?? []).map((turn) => ({ content: turn.parts })),
    request.systemInstruction?.parts,
  );
  const candidates = words.length + calls.length;
  return {
    responseId: randomId("", 22),
    modelVersion: model,
    flavour,
    thought,
    signature: randomBytes(48).toString("base64"),
    text: words,
    calls,
    finishReason:
      answer.finishReason ?? (flavour === "safety" ? "SAFETY" : limited.cut ? "MAX_TOKENS" : "STOP"),
    usage: {
      promptTokenCount: prompt + cached,
      candidatesTokenCount: candidates,
      ...(thought.length > 0 ? { thoughtsTokenCount: thought.length } : {}),
      ...(cached > 0 ? { cachedContentTokenCount: cached } : {}),
      totalTokenCount: prompt + cached + candidates + thought.length,
    },
  };
}

function forcedCall(request: GenerateContentRequest): boolean {
  return request.toolConfig?.functionCallingConfig?.mode === "ANY";
}

/** One call per declared function (those `allowedFunctionNames` allows), its args the smallest valid. */
function functionCalls(request: GenerateContentRequest, answer: Partial<GeminiAnswer>): GeminiPlan["calls"] {
  const id = () => (answer.functionCallIds ? { id: randomId("", 8).toLowerCase() } : {});
  if (answer.functionCalls) return answer.functionCalls.map((call) => ({ ...id(), ...call }));
  const allowed = request.toolConfig?.functionCallingConfig?.allowedFunctionNames;
  const declared = (request.tools ?? [])
    .flatMap((tool) => tool.functionDeclarations ?? [])
    .filter((d) => allowed === undefined || allowed.includes(d.name));
  if (declared.length === 0) return [{ ...id(), ...DEFAULT_FUNCTION_CALL }];
  return declared.map((d) => ({
    ...id(),
    name: d.name,
    args: schemaInstance(d.parametersJsonSchema ?? d.parameters ?? { type: "object" }) as Record<
      string,
      unknown
    >,
  }));
}

type Part = Record<string, unknown>;

function callParts(plan: GeminiPlan): Part[] {
  return plan.calls.map((call, i) => ({
    functionCall: call,
    ...(i === 0 ? { thoughtSignature: plan.signature } : {}),
  }));
}

const SAFETY_RATINGS = [
  { category: "HARM_CATEGORY_SEXUALLY_EXPLICIT", probability: "NEGLIGIBLE" },
  { category: "HARM_CATEGORY_HATE_SPEECH", probability: "NEGLIGIBLE" },
  { category: "HARM_CATEGORY_HARASSMENT", probability: "NEGLIGIBLE" },
  { category: "HARM_CATEGORY_DANGEROUS_CONTENT", probability: "HIGH", blocked: true },
];

function response(plan: GeminiPlan, candidate: Part | undefined, usage: object): Part {
  return {
    ...(candidate ? { candidates: [{ ...candidate, index: 0 }] } : {}),
    ...(candidate ? {} : { promptFeedback: { blockReason: "SAFETY", safetyRatings: SAFETY_RATINGS } }),
    usageMetadata: usage,
    modelVersion: plan.modelVersion,
    responseId: plan.responseId,
  };
}

/** The GenerateContentResponse of a unary answer. */
export function generateContentJson(plan: GeminiPlan, answer: Partial<GeminiAnswer> = {}): Part {
  if (plan.flavour === "blocked-prompt") return blocked(plan, answer);
  if (plan.flavour === "safety")
    return response(plan, { finishReason: plan.finishReason, safetyRatings: SAFETY_RATINGS }, plan.usage);
  const thought = plan.thought.length > 0 ? [{ text: plan.thought.join(""), thought: true }] : [];
  const text =
    plan.text.length > 0
      ? [
          {
            text: plan.text.join(""),
            ...(plan.thought.length > 0 ? { thoughtSignature: plan.signature } : {}),
          },
        ]
      : [];
  const parts = [...thought, ...text, ...callParts(plan)];
  return response(plan, { content: { parts, role: "model" }, finishReason: plan.finishReason }, plan.usage);
}

function blocked(plan: GeminiPlan, answer: Partial<GeminiAnswer>): Part {
  const usage = {
    promptTokenCount: plan.usage.promptTokenCount,
    totalTokenCount: plan.usage.promptTokenCount,
  };
  const body = response(plan, undefined, usage);
  return {
    ...body,
    promptFeedback: { blockReason: answer.blockReason ?? "SAFETY", safetyRatings: SAFETY_RATINGS },
  };
}

function chunked<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let at = 0; at < items.length; at += size) out.push(items.slice(at, at + size));
  return out;
}

/** The chunks (each a GenerateContentResponse) of a streamed answer. */
export function generateContentChunks(plan: GeminiPlan, answer: Partial<GeminiAnswer> = {}): Part[] {
  if (plan.flavour === "blocked-prompt") return [blocked(plan, answer)];
  const size = answer.wordsPerChunk ?? 3;
  // The chunks before the last carry only the prompt's count so far, as Gemini's do.
  const early = {
    promptTokenCount: plan.usage.promptTokenCount,
    totalTokenCount: plan.usage.promptTokenCount,
  };
  const content = (parts: Part[]) => ({ content: { parts, role: "model" } });
  const bodies: Part[][] = [
    ...chunked(plan.thought, size).map((words) => [{ text: words.join(""), thought: true }]),
    ...chunked(plan.text, size).map((words) => [{ text: words.join("") }]),
    ...(plan.calls.length > 0 ? [callParts(plan)] : []),
  ];
  // A signature for text comes last, on an empty text part.
  if (plan.thought.length > 0 && plan.calls.length === 0)
    bodies.push([{ text: "", thoughtSignature: plan.signature }]);
  const chunks = bodies.map((parts) => response(plan, content(parts), early));
  const last =
    plan.flavour === "safety"
      ? { safetyRatings: SAFETY_RATINGS }
      : (chunks.pop()?.candidates as Part[] | undefined)?.[0];
  const { index: _, ...final } = (last ?? {}) as Part;
  chunks.push(response(plan, { ...final, finishReason: plan.finishReason }, plan.usage));
  if (plan.flavour !== "error-chunk") return chunks;
  const error = {
    error: {
      code: answer.errorCode ?? 503,
      message: answer.errorMessage ?? "The model is overloaded. Please try again later.",
      status: answer.errorStatus ?? "UNAVAILABLE",
    },
  };
  return [...chunks.slice(0, answer.errorAfterEvents ?? 2), error];
}

/** An SSE event as Gemini writes them: `data: {json}` and CRLF line ends. */
export function geminiSse(chunk: unknown): string {
  return `data: ${JSON.stringify(chunk)}\r\n\r\n`;
}
