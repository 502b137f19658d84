import type { OriginOptions, OriginRegistry } from "../../upstream/upstream-pools.js";
import { HttpProvider } from "../http-provider.js";
import type { Provider, WireFormat } from "../provider.js";
import { httpError } from "./errors.js";
import { converseBody } from "./request.js";
import { parseConverse } from "./response.js";
import { type AwsCredentials, createSigner } from "./signing.js";
import { readConverseStream } from "./stream.js";

export type { AwsCredentials } from "./signing.js";

/** The media type of ConverseStream's answers: AWS's binary event stream. */
export const EVENT_STREAM_MEDIA_TYPE = "application/vnd.amazon.eventstream";

/** Bedrock Runtime's public endpoint in a region, as the AWS SDKs resolve it. */
export function bedrockDefaultBaseUrl(region: string): string {
  return `https://bedrock-runtime.${region}.amazonaws.com`;
}

export interface BedrockProviderOptions {
  name: string;
  /** e.g. bedrockDefaultBaseUrl("us-east-1"); `/model/{modelId}/converse` is appended. */
  baseUrl: string;
  /** The region signed for (SigV4's scope), which must be the endpoint's. */
  region: string;
  credentials: AwsCredentials;
  /** Extra headers; they are signed with the rest. */
  headers?: Record<string, string> | undefined;
}

/**
 * Amazon Bedrock's Converse API: the model (a model id, an inference profile id or an ARN) in
 * the path, every request signed with SigV4 for the service `bedrock`, streams as AWS's binary
 * event stream.
 */
export function createBedrockProvider(
  options: BedrockProviderOptions,
  pools: OriginRegistry,
  originOptions: OriginOptions = {},
): Provider {
  const { name, region, credentials } = options;
  const headers: Record<string, string> = {
    ...options.headers,
    "content-type": "application/json",
  };
  const sign = createSigner({ service: "bedrock", region, credentials });
  const format: WireFormat = {
    // An ARN holds `:` and `/`, which must stay inside the one path segment.
    path: (request, stream) =>
      `/model/${encodeURIComponent(request.model)}/${stream ? "converse-stream" : "converse"}`,
    headers,
    sign,
    streamMediaType: EVENT_STREAM_MEDIA_TYPE,
    requestBody: (request) => converseBody(request, name),
    parseCompletion: (json) => parseConverse(json, name),
    readStream: (body) => readConverseStream(body, name),
    httpError: (status, text, responseHeaders) => httpError(status, text, responseHeaders, name),
  };
  return new HttpProvider(name, options.baseUrl, format, pools, originOptions);
}
