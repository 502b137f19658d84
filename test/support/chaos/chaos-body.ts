import { randomUUID } from "node:crypto";
import { messageEvents, messageJson, planAnthropic } from "../fakes/anthropic-format.js";
import { anthropicErrorBody } from "../fakes/fake-anthropic.js";
import { openAIErrorBody } from "../fakes/fake-openai.js";
import { completionJson, planOpenAI, streamEvents } from "../fakes/openai-format.js";
import { DEFAULT_TEXT, sse } from "../fakes/text.js";
import type { Payload, ProviderErrorType } from "./fault.js";

export type ChaosWire = "openai" | "anthropic";

/** What a request gets before pacing and cutting: status, headers, the body's events, and a tail that never ends. */
export interface ChaosResponse {
  status: number;
  headers: Record<string, string>;
  /** The body as it would be written, one piece per event (one piece for a JSON body). */
  events: Buffer[];
  /** Written every `everyMs` after the events until the client goes away (pings forever). */
  forever?: { piece: Buffer; everyMs: number };
}

/** The request fields the answers are planned from. */
export interface ChaosRequest {
  model: string;
  stream: boolean;
  messages: unknown;
  max_tokens?: number;
  /** The key the request carried: a 401 quotes it back, as some compatible servers do. */
  apiKey?: string;
}

const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" };
const JSON_HEADERS = { "content-type": "application/json" };
/** Not UTF-8: a lone continuation byte, an impossible byte, and a lead byte cut short. */
const INVALID_UTF8 = Buffer.from([0x80, 0xff, 0xfe, 0xc3]);

/** The status an error type comes with (Anthropic's and OpenAI's documented pairs). */
const STATUS_OF_TYPE: Record<ProviderErrorType, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  overloaded_error: 529,
  server_error: 500,
  rate_limit_exceeded: 429,
  insufficient_quota: 429,
};

export function statusOfErrorType(type: ProviderErrorType): number {
  return STATUS_OF_TYPE[type];
}

/** The response the chaos upstream sends for `payload`, in `wire`'s format. */
export function chaosResponse(wire: ChaosWire, request: ChaosRequest, payload: Payload): ChaosResponse {
  if (payload.kind === "http-error")
    return errorResponse(wire, payload.status, payload.retryAfterMs, request.apiKey);
  if (payload.kind === "empty") return { status: 200, headers: headersFor(request), events: [] };
  if (payload.kind === "wrong-content-type") {
    const page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>\n";
    return { status: 200, headers: { "content-type": "text/html" }, events: [Buffer.from(page)] };
  }
  if (payload.kind === "huge-event") return hugeResponse(wire, request, payload.megabytes);
  const events = answerEvents(wire, request);
  const headers = headersFor(request);
  switch (payload.kind) {
    case "answer":
      return { status: 200, headers, events };
    case "invalid-utf8":
      return { status: 200, headers, events: events.map(withInvalidUtf8) };
    case "pings-forever":
      return {
        status: 200,
        headers,
        events: request.stream ? events.slice(0, 1) : [],
        forever: { piece: Buffer.from(request.stream ? pingEvent(wire) : " "), everyMs: 50 },
      };
    case "invalid-json":
      if (!request.stream)
        return { status: 200, headers, events: [Buffer.from('{"id": "chatcmpl-1", "choi')] };
      return insertAfter(
        events,
        payload.afterEvents,
        sse(
          '{"choices": [{"delta": {"content": "x"}',
          wire === "anthropic" ? "content_block_delta" : undefined,
        ),
      );
    case "unknown-event":
      if (!request.stream) return { status: 200, headers, events };
      return insertAfter(
        events,
        payload.afterEvents,
        sse({ type: "future_event", note: "not documented" }, "future_event"),
      );
    case "error-event":
      if (!request.stream) return errorResponse(wire, statusOfErrorType(payload.type));
      return {
        status: 200,
        headers,
        events: [
          ...events.slice(0, payload.afterEvents),
          Buffer.from(errorEvent(wire, payload.type, payload.openrouter)),
        ],
      };
  }
}

function headersFor(request: ChaosRequest): Record<string, string> {
  return request.stream ? SSE_HEADERS : JSON_HEADERS;
}

function answerEvents(wire: ChaosWire, request: ChaosRequest): Buffer[] {
  const pieces =
    wire === "openai"
      ? request.stream
        ? streamEvents(planOpenAI(request))
        : [JSON.stringify(completionJson(planOpenAI(request)))]
      : request.stream
        ? messageEvents(planAnthropic({ ...request, max_tokens: request.max_tokens ?? 4096 }))
        : [
            JSON.stringify(
              messageJson(planAnthropic({ ...request, max_tokens: request.max_tokens ?? 4096 })),
            ),
          ];
  return pieces.map((piece) => Buffer.from(piece));
}

function insertAfter(events: Buffer[], index: number, event: string): ChaosResponse {
  const at = Math.min(index, events.length);
  return {
    status: 200,
    headers: SSE_HEADERS,
    events: [...events.slice(0, at), Buffer.from(event), ...events.slice(at)],
  };
}

/** The piece with the bytes spliced in before the answer's first word, where they land inside a JSON string. */
function withInvalidUtf8(piece: Buffer): Buffer {
  const at = piece.indexOf(DEFAULT_TEXT.split(" ")[0] ?? "Hello");
  if (at < 0) return piece;
  return Buffer.concat([piece.subarray(0, at), INVALID_UTF8, piece.subarray(at)]);
}

function pingEvent(wire: ChaosWire): string {
  return wire === "anthropic" ? sse({ type: "ping" }, "ping") : ": OPENROUTER PROCESSING\n\n";
}

function errorEvent(wire: ChaosWire, type: ProviderErrorType, openrouter: boolean): string {
  const message = `chaos ${type}`;
  if (wire === "anthropic") return sse({ type: "error", error: { type, message } }, "error");
  if (openrouter) {
    // OpenRouter: a chunk whose choice finished with "error", and the error's HTTP status as its code.
    const choices = [{ index: 0, delta: { content: "" }, finish_reason: "error" }];
    return sse({
      id: "gen-chaos",
      object: "chat.completion.chunk",
      choices,
      error: { code: statusOfErrorType(type), message: `${type}: ${message}` },
    });
  }
  return sse({ error: { message, type, param: null, code: null } });
}

function errorResponse(
  wire: ChaosWire,
  status: number,
  retryAfterMs?: number,
  apiKey?: string,
): ChaosResponse {
  const message = status === 401 && apiKey ? `Incorrect API key provided: ${apiKey}` : undefined;
  const body =
    wire === "anthropic"
      ? anthropicErrorBody(status, `req_${randomUUID()}`, undefined, message)
      : openAIErrorBody(status, undefined, message);
  const headers: Record<string, string> = { ...JSON_HEADERS };
  if (retryAfterMs !== undefined) headers["retry-after-ms"] = String(retryAfterMs);
  return { status, headers, events: [Buffer.from(JSON.stringify(body))] };
}

const hugeCache = new Map<string, Buffer>();

/** Builds the huge bodies ahead: building one mid-run stalls this process, and its callers' timers with it. */
export function prepareHugeBodies(wire: ChaosWire, megabytes: readonly number[]): void {
  for (const stream of [true, false])
    for (const size of megabytes) hugeResponse(wire, { model: "warm-up", stream, messages: [] }, size);
}

/**
 * A stream: one event line carrying `megabytes` MB of text after the first event. Unary: the
 * normal answer after `megabytes` MB of leading whitespace (valid JSON, but a body that size).
 */
function hugeResponse(wire: ChaosWire, request: ChaosRequest, megabytes: number): ChaosResponse {
  const key = `${wire}:${request.stream}:${megabytes}`;
  let huge = hugeCache.get(key);
  if (huge === undefined) {
    const size = megabytes * 1024 * 1024;
    if (!request.stream) huge = Buffer.alloc(size, " ");
    else {
      const text = "x".repeat(size);
      const data =
        wire === "anthropic"
          ? { type: "content_block_delta", index: 0, delta: { type: "text_delta", text } }
          : {
              id: "chatcmpl-huge",
              object: "chat.completion.chunk",
              choices: [{ index: 0, delta: { content: text } }],
            };
      huge = Buffer.from(sse(data, wire === "anthropic" ? "content_block_delta" : undefined));
    }
    hugeCache.set(key, huge);
  }
  const events = answerEvents(wire, request);
  return {
    status: 200,
    headers: headersFor(request),
    events: [...events.slice(0, request.stream ? 1 : 0), huge, ...events.slice(request.stream ? 1 : 0)],
  };
}
