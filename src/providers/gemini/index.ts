import type { OriginOptions, OriginRegistry } from "../../upstream/upstream-pools.js";
import { HttpProvider } from "../http-provider.js";
import { jsonHeaders } from "../json-headers.js";
import type { ChatRequest, Provider, WireFormat } from "../provider.js";
import { httpError } from "./errors.js";
import { generateContentBody } from "./request.js";
import { parseGenerateContent } from "./response.js";
import { readGenerateContentStream } from "./stream.js";

export const GEMINI_DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com";
export const GEMINI_DEFAULT_API_VERSION = "v1beta";
/** Where Google's SDKs read the key from: a `type: gemini` provider reads it there unless told otherwise. */
export const GEMINI_KEY_ENV = "GEMINI_API_KEY";

export interface GeminiProviderOptions {
  name: string;
  /** e.g. https://generativelanguage.googleapis.com; `/{apiVersion}/models/{model}:generateContent` is appended. */
  baseUrl: string;
  /** Sent as `x-goog-api-key`, never in the URL (where logs and proxies would keep it). */
  apiKey?: string | undefined;
  headers?: Record<string, string> | undefined;
  /** Default "v1beta": system instructions, JSON Schema output and thinking are there. */
  apiVersion?: string | undefined;
}

/** Google's Gemini API (Google AI Studio): generateContent and streamGenerateContent over SSE. */
export function createGeminiProvider(
  options: GeminiProviderOptions,
  pools: OriginRegistry,
  originOptions: OriginOptions = {},
): Provider {
  const headers = jsonHeaders(options.headers, { "x-goog-api-key": options.apiKey });
  const { name } = options;
  const version = options.apiVersion ?? GEMINI_DEFAULT_API_VERSION;
  const format: WireFormat = {
    path: (request, stream) =>
      `/${version}/${modelResource(request)}:${stream ? "streamGenerateContent?alt=sse" : "generateContent"}`,
    headers,
    requestBody: (request) => generateContentBody(request, name),
    parseCompletion: (json) => parseGenerateContent(json, name),
    readStream: (body) => readGenerateContentStream(body, name),
    httpError: (status, text, responseHeaders) => httpError(status, text, responseHeaders, name),
  };
  return new HttpProvider(name, options.baseUrl, format, pools, originOptions);
}

/** `models/{model}`, or the model's own resource name when it has one (`tunedModels/...`); each segment escaped. */
function modelResource(request: ChatRequest): string {
  const name = /^(models|tunedModels)\//.test(request.model) ? request.model : `models/${request.model}`;
  return name.split("/").map(encodeURIComponent).join("/");
}
