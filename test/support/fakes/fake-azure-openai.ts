import { randomUUID } from "node:crypto";
import { FakeOpenAI, type FakeOpenAIOptions } from "./fake-openai.js";
import type { OpenAIAnswer } from "./openai-format.js";
import { type ErrorScenario, jsonReply, type RecordedRequest, type Reply } from "./scenario.js";

export interface FakeAzureOpenAIOptions extends FakeOpenAIOptions {
  /** The deployment names the resource has; a request to another is DeploymentNotFound. Default: any. */
  deployments?: string[];
}

const DEPLOYMENT_PATH = /^\/openai\/deployments\/([^/]+)\/chat\/completions$/;
const V1_PATH = "/openai/v1/chat/completions";

/** Azure's error bodies, by status: its `code` says what, and a content filter says why in `innererror`. */
export function azureErrorBody(status: number, code?: string, message?: string): object {
  if (status === 400 && (code === undefined || code === "content_filter"))
    return {
      error: {
        message:
          message ??
          "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
        type: null,
        param: "prompt",
        code: "content_filter",
        status: 400,
        innererror: {
          code: "ResponsibleAIPolicyViolation",
          content_filter_result: {
            hate: { filtered: true, severity: "high" },
            self_harm: { filtered: false, severity: "safe" },
            sexual: { filtered: false, severity: "safe" },
            violence: { filtered: false, severity: "safe" },
          },
        },
      },
    };
  const defaults: Record<number, [string, string]> = {
    401: [
      "401",
      "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
    ],
    404: ["404", "Resource not found"],
    429: [
      "429",
      "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 6 seconds.",
    ],
    500: [
      "InternalServerError",
      "The service is temporarily unable to process your request. Please try again later.",
    ],
  };
  const [defaultCode, defaultMessage] = defaults[status] ?? [String(status), "Error."];
  return { error: { code: code ?? defaultCode, message: message ?? defaultMessage } };
}

/**
 * A fake Azure OpenAI resource: the deployment URL shape (`api-version` required) and the v1 shape,
 * an `api-key` header or a bearer token, its stream flavour (a first chunk with no choices carrying
 * `prompt_filter_results`, `content_filter_results` per choice) and its error bodies.
 */
export class FakeAzureOpenAI extends FakeOpenAI {
  constructor(private readonly azure: FakeAzureOpenAIOptions) {
    super(azure);
  }

  protected override check(request: RecordedRequest): Reply | undefined {
    const headers = this.commonHeaders();
    const url = new URL(request.path, "https://fake.openai.azure.com");
    const match = DEPLOYMENT_PATH.exec(url.pathname);
    const v1 = url.pathname === V1_PATH;
    if (request.method !== "POST" || (!v1 && (match === null || !url.searchParams.get("api-version"))))
      return jsonReply(404, azureErrorBody(404), headers);
    const key = request.headers["api-key"] ?? request.headers.authorization?.replace(/^Bearer /, "");
    if (key !== this.azure.apiKey) return jsonReply(401, azureErrorBody(401), headers);
    const body = request.body as { model?: unknown } | undefined;
    const deployment = v1 ? body?.model : decodeURIComponent(match?.[1] ?? "");
    const known = this.azure.deployments;
    if (typeof deployment === "string" && known !== undefined && !known.includes(deployment))
      return jsonReply(
        404,
        azureErrorBody(
          404,
          "DeploymentNotFound",
          "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.",
        ),
        headers,
      );
    return this.bodyProblem(request, headers);
  }

  protected override errorBody(scenario: ErrorScenario): object {
    return azureErrorBody(scenario.status, scenario.type, scenario.message);
  }

  protected override defaultAnswer(): OpenAIAnswer {
    return { kind: "answer", flavour: "azure" };
  }

  protected override commonHeaders(): Record<string, string> {
    return { "apim-request-id": randomUUID(), "x-ms-region": "East US", "x-request-id": randomUUID() };
  }
}

/** Starts a fake Azure OpenAI resource on 127.0.0.1 with a fresh certificate (see `fake.ca`). */
export async function startFakeAzureOpenAI(options: FakeAzureOpenAIOptions): Promise<FakeAzureOpenAI> {
  return new FakeAzureOpenAI(options).listen();
}
