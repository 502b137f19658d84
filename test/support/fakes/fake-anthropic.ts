import { type AnthropicAnswer, messageEvents, messageJson, planAnthropic } from "./anthropic-format.js";
import { FakeUpstream, type FakeUpstreamOptions } from "./fake-upstream.js";
import {
  type ErrorScenario,
  errorHeaders,
  jsonReply,
  type RecordedRequest,
  type Reply,
  sseReply,
} from "./scenario.js";
import { randomId } from "./text.js";

export interface FakeAnthropicOptions extends FakeUpstreamOptions {
  /** The key to accept, as `x-api-key` or as `Authorization: Bearer`. */
  apiKey: string;
  /** `anthropic-version`s accepted with `x-api-key`; default ["2023-06-01"]. Bearer accepts any. */
  versions?: string[];
}

/** Anthropic's error `type` by status, and a message in Anthropic's words. */
const ERRORS: Record<number, [type: string, message: string]> = {
  400: ["invalid_request_error", "Invalid request."],
  401: ["authentication_error", "invalid x-api-key"],
  403: ["permission_error", "Your API key does not have permission to use the specified resource."],
  404: ["not_found_error", "Not found"],
  413: ["request_too_large", "Request exceeds the maximum allowed number of bytes."],
  429: ["rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."],
  500: ["api_error", "Internal server error"],
  529: ["overloaded_error", "Overloaded"],
};

/** The body Anthropic sends for an error: `{"type":"error","error":{type,message},"request_id"}`. */
export function anthropicErrorBody(
  status: number,
  requestId: string,
  type?: string,
  message?: string,
): object {
  const [defaultType, defaultMessage] = ERRORS[status] ?? ["api_error", "Internal server error"];
  return {
    type: "error",
    error: { type: type ?? defaultType, message: message ?? defaultMessage },
    request_id: requestId,
  };
}

/**
 * A fake Anthropic `POST /v1/messages`: x-api-key or Bearer auth, JSON or SSE answers in several
 * real-world flavours, and Anthropic's error bodies (with a `request-id` header). Script it with
 * `respondWith(...)`.
 */
export class FakeAnthropic extends FakeUpstream<AnthropicAnswer> {
  constructor(private readonly config: FakeAnthropicOptions) {
    super(config);
  }

  protected check(request: RecordedRequest): Reply | undefined {
    const fail = (status: number, message?: string) =>
      this.error({ kind: "error", status, ...(message ? { message } : {}) });
    const path = request.path.split("?")[0];
    if (request.method !== "POST" || path !== "/v1/messages") return fail(404);
    const version = request.headers["anthropic-version"];
    if (!version) return fail(400, "anthropic-version: header is required");
    const { "x-api-key": apiKey, authorization } = request.headers;
    const bearer = authorization?.startsWith("Bearer ") ? authorization.slice("Bearer ".length) : undefined;
    if (apiKey === undefined && bearer === undefined) return fail(401, "x-api-key header is required");
    if ((apiKey ?? bearer) !== this.config.apiKey) return fail(401);
    if (apiKey !== undefined && !(this.config.versions ?? ["2023-06-01"]).includes(version)) {
      return fail(400, `anthropic-version: invalid version ${JSON.stringify(version)}`);
    }
    const body = request.body as { model?: unknown; messages?: unknown; max_tokens?: unknown } | undefined;
    if (!body) return fail(400, "There was an issue with your request body: invalid JSON");
    if (typeof body.max_tokens !== "number") return fail(400, "max_tokens: Field required");
    if (typeof body.model !== "string") return fail(400, "model: Field required");
    if (!Array.isArray(body.messages)) return fail(400, "messages: Field required");
    return undefined;
  }

  protected answer(request: RecordedRequest, scenario: AnthropicAnswer | ErrorScenario | undefined): Reply {
    if (scenario?.kind === "error") return this.error(scenario);
    const answer = scenario ?? { kind: "answer" };
    const body = request.body as Parameters<typeof planAnthropic>[0] & { stream?: boolean };
    const streamed = answer.kind === "stream" || (answer.kind === "answer" && body.stream === true);
    if (streamed && answer.flavour === "json-error-on-stream")
      return this.error({ kind: "error", status: 529 });
    const plan = planAnthropic(body, answer);
    const headers = { "request-id": randomId("req_011") };
    if (streamed) return sseReply(messageEvents(plan, answer), headers, answer);
    return { ...jsonReply(200, messageJson(plan), headers), pacing: answer };
  }

  private error(scenario: ErrorScenario): Reply {
    const requestId = randomId("req_011");
    const body =
      scenario.body ?? anthropicErrorBody(scenario.status, requestId, scenario.type, scenario.message);
    return jsonReply(scenario.status, body, { "request-id": requestId, ...errorHeaders(scenario) });
  }
}

/** Starts a fake Anthropic on 127.0.0.1 with a fresh certificate (see `fake.ca`). */
export async function startFakeAnthropic(options: FakeAnthropicOptions): Promise<FakeAnthropic> {
  return new FakeAnthropic(options).listen();
}
