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
    const body = request.body as
      | {
          model?: unknown;
          messages?: unknown;
          max_tokens?: unknown;
          thinking?: { type?: unknown; budget_tokens?: unknown };
          tool_choice?: { type?: unknown };
        }
      | undefined;
    if (!body) return fail(400, "There was an issue with your request body: invalid JSON");
    if (typeof body.max_tokens !== "number") return fail(400, "max_tokens: Field required");
    if (typeof body.model !== "string") return fail(400, "model: Field required");
    if (!Array.isArray(body.messages)) return fail(400, "messages: Field required");
    const budget = body.thinking?.budget_tokens;
    if (typeof budget === "number" && budget < 1024)
      return fail(400, "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024");
    if (typeof budget === "number" && budget >= body.max_tokens)
      return fail(400, "`max_tokens` must be greater than `thinking.budget_tokens`");
    const forced = body.tool_choice?.type === "any" || body.tool_choice?.type === "tool";
    if (body.thinking?.type === "enabled" && forced)
      return fail(400, "Thinking may not be enabled when tool_choice forces tool use.");
    const unanswered = unansweredToolUse(body.messages);
    return unanswered ? fail(400, unanswered) : undefined;
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

type Turn = { role?: unknown; content?: unknown };
const blocksOf = (turn: Turn | undefined) =>
  Array.isArray(turn?.content)
    ? (turn.content as { type?: unknown; id?: unknown; tool_use_id?: unknown }[])
    : [];

/**
 * As the API checks: every tool_use is answered by a tool_result in the very next (user) turn,
 * and tool_result blocks lead that turn. The error in Anthropic's words, or undefined.
 */
function unansweredToolUse(messages: Turn[]): string | undefined {
  for (const [at, turn] of messages.entries()) {
    const ids = blocksOf(turn).flatMap((b) => (b.type === "tool_use" ? [b.id] : []));
    if (turn.role !== "assistant" || ids.length === 0) continue;
    const next = blocksOf(messages[at + 1]);
    const firstOther = next.findIndex((b) => b.type !== "tool_result");
    const leading = firstOther === -1 ? next : next.slice(0, firstOther);
    const answered = new Set(leading.map((b) => b.tool_use_id));
    const missing = ids.filter((id) => !answered.has(id));
    if (messages[at + 1]?.role === "user" && missing.length === 0) continue;
    return `messages.${at}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(", ") || ids.join(", ")}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
  }
  return undefined;
}

/** Starts a fake Anthropic on 127.0.0.1 with a fresh certificate (see `fake.ca`). */
export async function startFakeAnthropic(options: FakeAnthropicOptions): Promise<FakeAnthropic> {
  return new FakeAnthropic(options).listen();
}
