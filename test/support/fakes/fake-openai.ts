import { randomBytes } from "node:crypto";
import { FakeUpstream, type FakeUpstreamOptions } from "./fake-upstream.js";
import {
  completionJson,
  type OpenAIAnswer,
  type OpenAIRequestBody,
  planOpenAI,
  streamEvents,
} from "./openai-format.js";
import {
  type ErrorScenario,
  errorHeaders,
  jsonReply,
  type RecordedRequest,
  type Reply,
  sseReply,
} from "./scenario.js";

export interface FakeOpenAIOptions extends FakeUpstreamOptions {
  /** The key to accept as `Authorization: Bearer <key>`. */
  apiKey: string;
  /** What a compatible server takes in place of OpenAI's fields (Mistral: random_seed for seed). */
  fields?: { add?: string[]; remove?: string[] };
}

/** OpenAI's error `type` and `code` by status, and a message in OpenAI's words. */
const ERRORS: Record<number, [type: string, code: string | null, message: string]> = {
  400: ["invalid_request_error", null, "Invalid request."],
  401: ["invalid_request_error", "invalid_api_key", "Incorrect API key provided."],
  403: [
    "request_forbidden",
    "unsupported_country_region_territory",
    "Country, region, or territory not supported",
  ],
  404: [
    "invalid_request_error",
    "model_not_found",
    "The model does not exist or you do not have access to it.",
  ],
  429: [
    "requests",
    "rate_limit_exceeded",
    "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.",
  ],
  500: ["server_error", null, "The server had an error while processing your request. Sorry about that!"],
  503: ["server_error", null, "The engine is currently overloaded, please try again later."],
};

/** The body OpenAI sends for an error: `{"error":{message,type,param,code}}`. */
export function openAIErrorBody(
  status: number,
  type?: string,
  message?: string,
  code?: string | null,
): object {
  const [defaultType, defaultCode, defaultMessage] = ERRORS[status] ?? ["server_error", null, "Error."];
  return {
    error: {
      message: message ?? defaultMessage,
      type: type ?? defaultType,
      param: null,
      code: code ?? defaultCode,
    },
  };
}

/** The request fields of Chat Completions (openai 6's ChatCompletionCreateParams); OpenAI refuses others. */
const REQUEST_FIELDS = new Set(
  `messages model audio frequency_penalty function_call functions logit_bias logprobs max_completion_tokens
  max_tokens metadata modalities moderation n parallel_tool_calls prediction presence_penalty prompt_cache_key
  prompt_cache_options prompt_cache_retention reasoning_effort response_format safety_identifier seed
  service_tier stop store stream stream_options temperature tool_choice tools top_logprobs top_p user
  verbosity web_search_options`.split(/\s+/),
);

interface WireMessage {
  role?: unknown;
  tool_call_id?: unknown;
  tool_calls?: { id?: unknown }[];
}

/** What OpenAI refuses with a 400 in a body that parsed: an unknown field, a tool turn out of place. */
function requestProblem(body: Record<string, unknown>, fields: Set<string>): string | undefined {
  const unknown = Object.keys(body).find((key) => !fields.has(key));
  if (unknown !== undefined) return `Unrecognized request argument supplied: ${unknown}`;
  const hasTools = Array.isArray(body.tools) && body.tools.length > 0;
  for (const field of ["tool_choice", "parallel_tool_calls"]) {
    if (body[field] !== undefined && !hasTools)
      return `Invalid value for '${field}': '${field}' is only allowed when 'tools' are specified.`;
  }
  return toolTurnProblem(body.messages as WireMessage[]);
}

/** Each assistant turn's tool calls must be answered by the tool turns right after it, and only they. */
function toolTurnProblem(messages: WireMessage[]): string | undefined {
  let open: string[] = [];
  for (const [i, message] of messages.entries()) {
    if (message.role === "tool") {
      if (!open.includes(String(message.tool_call_id)))
        return `Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'. (messages.[${i}].role)`;
      open = open.filter((id) => id !== message.tool_call_id);
      continue;
    }
    if (open.length > 0)
      return `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${open.join(", ")}`;
    open = message.role === "assistant" ? (message.tool_calls ?? []).map((call) => String(call.id)) : [];
  }
  return undefined;
}

/** Masks a key the way OpenAI's 401 message does: `sk-tes**********1234`. */
function maskKey(key: string): string {
  return key.length <= 8 ? key : `${key.slice(0, 6)}${"*".repeat(key.length - 10)}${key.slice(-4)}`;
}

/**
 * A fake OpenAI `POST /v1/chat/completions`: Bearer auth, JSON or SSE answers in several real-world
 * flavours, and OpenAI's error bodies. Script it with `respondWith(...)`.
 */
export class FakeOpenAI extends FakeUpstream<OpenAIAnswer> {
  private readonly fields: Set<string>;

  constructor(private readonly config: FakeOpenAIOptions) {
    super(config);
    const { add = [], remove = [] } = config.fields ?? {};
    this.fields = new Set([...REQUEST_FIELDS, ...add].filter((field) => !remove.includes(field)));
  }

  protected check(request: RecordedRequest): Reply | undefined {
    const headers = this.commonHeaders();
    const path = request.path.split("?")[0];
    if (request.method !== "POST" || path !== "/v1/chat/completions") {
      const message = `Invalid URL (${request.method} ${path})`;
      return jsonReply(404, openAIErrorBody(404, "invalid_request_error", message, null), headers);
    }
    const auth = request.headers.authorization;
    if (!auth?.startsWith("Bearer ")) {
      const message =
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).";
      return jsonReply(401, openAIErrorBody(401, "invalid_request_error", message, null), headers);
    }
    const key = auth.slice("Bearer ".length);
    if (key !== this.config.apiKey) {
      const message = `Incorrect API key provided: ${maskKey(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`;
      return jsonReply(401, openAIErrorBody(401, undefined, message), headers);
    }
    return this.bodyProblem(request, headers);
  }

  /** What OpenAI refuses in the body of a request it routed and authenticated. */
  protected bodyProblem(request: RecordedRequest, headers: Record<string, string>): Reply | undefined {
    const body = request.body as { model?: unknown; messages?: unknown } | undefined;
    if (!body)
      return jsonReply(
        400,
        openAIErrorBody(400, undefined, "We could not parse the JSON body of your request."),
        headers,
      );
    if (typeof body.model !== "string")
      return jsonReply(400, openAIErrorBody(400, undefined, "you must provide a model parameter"), headers);
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      return jsonReply(
        400,
        openAIErrorBody(400, undefined, "'messages' must contain at least one message"),
        headers,
      );
    }
    const problem = requestProblem(body as Record<string, unknown>, this.fields);
    return problem === undefined
      ? undefined
      : jsonReply(400, openAIErrorBody(400, undefined, problem), headers);
  }

  protected answer(request: RecordedRequest, scenario: OpenAIAnswer | ErrorScenario | undefined): Reply {
    const headers = this.commonHeaders();
    if (scenario?.kind === "error") {
      const body = scenario.body ?? this.errorBody(scenario);
      return jsonReply(scenario.status, body, { ...headers, ...errorHeaders(scenario) });
    }
    const answer = scenario ?? this.defaultAnswer();
    const body = request.body as OpenAIRequestBody & { stream?: boolean };
    const plan = planOpenAI(body, answer);
    const streamed = answer.kind === "stream" || (answer.kind === "answer" && body.stream === true);
    if (streamed) return sseReply(streamEvents(plan, answer), headers, answer);
    return { ...jsonReply(200, completionJson(plan), headers), pacing: answer };
  }

  /** The error body for a scripted error that brings none: OpenAI's. */
  protected errorBody(scenario: ErrorScenario): object {
    return openAIErrorBody(scenario.status, scenario.type, scenario.message);
  }

  /** The answer when none is scripted. */
  protected defaultAnswer(): OpenAIAnswer {
    return { kind: "answer" };
  }

  protected commonHeaders(): Record<string, string> {
    return {
      "x-request-id": `req_${randomBytes(16).toString("hex")}`,
      "openai-processing-ms": "1",
      "openai-version": "2020-10-01",
    };
  }
}

/** Starts a fake OpenAI on 127.0.0.1 with a fresh certificate (see `fake.ca`). */
export async function startFakeOpenAI(options: FakeOpenAIOptions): Promise<FakeOpenAI> {
  return new FakeOpenAI(options).listen();
}
