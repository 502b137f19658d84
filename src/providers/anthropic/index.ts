import type { OriginOptions, OriginRegistry } from "../../upstream/upstream-pools.js";
import { HttpProvider } from "../http-provider.js";
import { jsonHeaders } from "../json-headers.js";
import type { Provider, WireFormat } from "../provider.js";
import { httpError } from "./errors.js";
import { messagesBody } from "./request.js";
import { parseMessage } from "./response.js";
import { readMessageStream } from "./stream.js";

export const ANTHROPIC_DEFAULT_BASE_URL = "https://api.anthropic.com";
export const ANTHROPIC_DEFAULT_VERSION = "2023-06-01";

export interface AnthropicProviderOptions {
  name: string;
  /** e.g. https://api.anthropic.com; `/v1/messages` is appended. */
  baseUrl: string;
  apiKey?: string | undefined;
  /** The `anthropic-version` header. */
  version: string;
  /** `x-api-key` (the documented default) or `bearer` (`Authorization: Bearer`, as SDK 1.14 sends). */
  auth: "x-api-key" | "bearer";
  /** max_tokens sent when the caller gives none: the Messages API requires one. */
  defaultMaxTokens: number;
  headers?: Record<string, string> | undefined;
}

/** Anthropic's Messages API. */
export function createAnthropicProvider(
  options: AnthropicProviderOptions,
  pools: OriginRegistry,
  originOptions: OriginOptions = {},
): Provider {
  const headers = jsonHeaders(options.headers, {
    "anthropic-version": options.version,
    ...(options.auth === "bearer"
      ? { authorization: options.apiKey && `Bearer ${options.apiKey}` }
      : { "x-api-key": options.apiKey }),
  });
  const { name, defaultMaxTokens } = options;
  const format: WireFormat = {
    path: () => "/v1/messages",
    headers,
    requestBody: (request, stream) => messagesBody(request, stream, defaultMaxTokens, name),
    parseCompletion: (json) => parseMessage(json, name),
    readStream: (body) => readMessageStream(body, name),
    httpError: (status, text, responseHeaders) => httpError(status, text, responseHeaders, name),
  };
  return new HttpProvider(name, options.baseUrl, format, pools, originOptions);
}
