import type { OriginOptions, OriginRegistry } from "../../upstream/upstream-pools.js";
import { HttpProvider } from "../http-provider.js";
import { jsonHeaders } from "../json-headers.js";
import { chatCompletionBody } from "../openai/request.js";
import { parseChatCompletion } from "../openai/response.js";
import { readChatStream } from "../openai/stream.js";
import type { Provider, WireFormat } from "../provider.js";
import { httpError } from "./errors.js";

/** The newest generally available dated version of the data-plane API. */
export const AZURE_DEFAULT_API_VERSION = "2024-10-21";
/** A dated version (`2024-10-21`, `2025-04-01-preview`), or `v1`. */
export const AZURE_API_VERSION = /^(v1|\d{4}-\d{2}-\d{2}(-preview)?)$/;
/** Where the openai SDK's AzureOpenAI reads the key from: a provider reads it there unless told otherwise. */
export const AZURE_KEY_ENV = "AZURE_OPENAI_API_KEY";
/** The `api_version` that selects the v1 API (`/openai/v1/...`, no dated version, model in the body). */
export const AZURE_V1 = "v1";

export interface AzureOpenAIProviderOptions {
  name: string;
  /** The resource's endpoint, e.g. https://my-resource.openai.azure.com. */
  endpoint: string;
  apiKey?: string | undefined;
  /** `api-key` (a resource key, the default) or `bearer` (a Microsoft Entra ID token). */
  auth: "api-key" | "bearer";
  /** A dated version (`2024-10-21`): the deployment URL shape; `v1`: the v1 API. */
  apiVersion: string;
  headers?: Record<string, string> | undefined;
}

/**
 * Azure OpenAI: OpenAI's chat completions under Azure's URLs and auth. A deployment's `model` is
 * the Azure deployment name. Its stream quirks (a first chunk with no choices carrying
 * `prompt_filter_results`, `content_filter_results` per choice, `content_filter` as a finish
 * reason) read as OpenAI's do; its error bodies have their own reading.
 */
export function createAzureOpenAIProvider(
  options: AzureOpenAIProviderOptions,
  pools: OriginRegistry,
  originOptions: OriginOptions = {},
): Provider {
  const headers = jsonHeaders(
    options.headers,
    options.auth === "bearer"
      ? { authorization: options.apiKey && `Bearer ${options.apiKey}` }
      : { "api-key": options.apiKey },
  );
  const { name, apiVersion } = options;
  const version = encodeURIComponent(apiVersion);
  const format: WireFormat = {
    path:
      apiVersion === AZURE_V1
        ? () => "/openai/v1/chat/completions"
        : (request) =>
            `/openai/deployments/${encodeURIComponent(request.model)}/chat/completions?api-version=${version}`,
    headers,
    requestBody: (request, stream) => chatCompletionBody(request, stream, name),
    parseCompletion: (json) => parseChatCompletion(json, name),
    readStream: (body) => readChatStream(body, name),
    httpError: (status, text, responseHeaders) => httpError(status, text, responseHeaders, name),
  };
  return new HttpProvider(name, options.endpoint, format, pools, originOptions);
}
