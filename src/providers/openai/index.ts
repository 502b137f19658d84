import type { OriginOptions, OriginRegistry } from "../../upstream/upstream-pools.js";
import { HttpProvider } from "../http-provider.js";
import { jsonHeaders } from "../json-headers.js";
import type { Provider, WireFormat } from "../provider.js";
import { httpError } from "./errors.js";
import type { ChatDialect } from "./presets.js";
import { chatCompletionBody } from "./request.js";
import { parseChatCompletion } from "./response.js";
import { readChatStream } from "./stream.js";

export const OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1";

export interface OpenAIProviderOptions {
  name: string;
  /** e.g. https://api.openai.com/v1; `/chat/completions` is appended. */
  baseUrl: string;
  apiKey?: string | undefined;
  /** Sent as OpenAI-Organization and OpenAI-Project when set. */
  organization?: string | undefined;
  project?: string | undefined;
  /** Extra headers for OpenAI-compatible servers that want them. */
  headers?: Record<string, string> | undefined;
  /** Where the server's Chat Completions differ from OpenAI's (a preset's). */
  dialect?: ChatDialect | undefined;
}

/** OpenAI's chat completions API, and every server that speaks it (vLLM, Ollama, the demo, ...). */
export function createOpenAIProvider(
  options: OpenAIProviderOptions,
  pools: OriginRegistry,
  originOptions: OriginOptions = {},
): Provider {
  const headers = jsonHeaders(options.headers, {
    authorization: options.apiKey && `Bearer ${options.apiKey}`,
    "openai-organization": options.organization,
    "openai-project": options.project,
  });
  const { name, dialect } = options;
  const format: WireFormat = {
    path: () => "/chat/completions",
    headers,
    requestBody: (request, stream) => chatCompletionBody(request, stream, name, dialect),
    parseCompletion: (json) => parseChatCompletion(json, name),
    readStream: (body) => readChatStream(body, name),
    httpError: (status, text, responseHeaders) => httpError(status, text, responseHeaders, name),
  };
  return new HttpProvider(name, options.baseUrl, format, pools, originOptions);
}
