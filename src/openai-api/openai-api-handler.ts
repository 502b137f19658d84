import type { IncomingMessage, ServerResponse } from "node:http";
import { httpKeyHeaders, presentedKey } from "../access/caller-keys.js";
import { GatewayError } from "../errors/gateway-error.js";
import type { ModelRouter } from "../router/model-router.js";
import { closeAfterReply } from "../server/close-after-reply.js";
import type { CallObserver } from "../service/call-observer.js";
import type { GenerationCall, GenerationCalls, StreamStep } from "../service/generation-calls.js";
import type { ValidationLimits } from "../service/validate-request.js";
import { type ParsedChatRequest, parseChatRequest } from "./chat-request.js";
import { ChunkWriter, completionJson, DONE_EVENT } from "./chat-response.js";
import { inOpenAINames } from "./field-names.js";
import { toOpenAIError } from "./openai-error.js";
import { readJsonBody } from "./request-body.js";

export interface OpenAIApiOptions {
  router: ModelRouter;
  calls: GenerationCalls;
  /** Reports the requests refused before they became a call (a body that is not JSON, too large, ...). */
  observer: CallObserver;
  limits: ValidationLimits;
}

/**
 * Headroom of the body limit over `max_request_bytes`, as the RPCs' wire limit has: validation
 * checks the text itself and names the field; this only stops a body too large to be worth parsing.
 */
const BODY_LIMIT_FACTOR = 4;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The OpenAI-compatible HTTP API on the gateway's port: `POST /v1/chat/completions` (JSON, or
 * SSE with `stream: true`) and `GET /v1/models`, served by the same router and pools as the RPCs,
 * and taken through the same GenerationCalls: the same admission, deadline, log line and metrics.
 */
export function createOpenAIApi({ router, calls, observer, limits }: OpenAIApiOptions) {
  const chatCompletions: Handler = (req, res) => {
    // The caller hanging up cancels the upstream request, as a cancelled RPC does.
    const abort = new AbortController();
    res.once("close", () => {
      // writableEnded, not writableFinished: HTTP/2's compatibility response finishes on RST_STREAM too.
      if (!res.writableEnded) abort.abort(new GatewayError("cancelled", "the caller went away"));
    });
    const arrival = { method: "ChatCompletions", protocol: "openai", http: req.httpVersion } as const;
    // A request refused before it becomes a call is reported here; a call reports itself.
    const endRefused = observer.begin(arrival, abort.signal);
    let called = false;
    const call = (input: ParsedChatRequest["input"]): GenerationCall => {
      called = true;
      return {
        ...arrival,
        signal: abort.signal,
        timeoutMs: callerTimeoutMs(req),
        input,
        presentedKey: presentedKey(httpKeyHeaders(req.headers)),
        replyHeader: (name, value) => res.setHeader(name, value),
        cacheControl: req.headers["cache-control"],
      };
    };
    readJsonBody(req, limits.maxRequestBytes * BODY_LIMIT_FACTOR)
      .then(async (body) => {
        const request = parseChatRequest(body);
        if (request.stream) {
          await streamCompletion(res, request, calls.stream(call(request.input)));
        } else {
          const routed = await calls.generate(call(request.input));
          const body = completionJson(routed.value, routed.model.name, Math.floor(Date.now() / 1000));
          res.writeHead(200, {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
          });
          res.end(body);
        }
      })
      .catch((error: unknown) => {
        if (!called) endRefused(error);
        closeAfterReply(req, res);
        replyError(res, inOpenAINames(error));
      });
  };

  const models: Handler = (_req, res) => {
    const created = Math.floor(Date.now() / 1000);
    const data = router.list().map((m) => ({
      id: m.name,
      object: "model",
      created,
      owned_by: m.deployments[0]?.provider.name ?? "weaver-gateway",
    }));
    const body = JSON.stringify({ object: "list", data });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  };

  return { chatCompletions, models };
}

async function streamCompletion(
  res: ServerResponse,
  request: ParsedChatRequest,
  steps: AsyncGenerator<StreamStep>,
): Promise<void> {
  let model = request.input.model;
  let writer: ChunkWriter | undefined;
  for await (const step of steps) {
    if (step.type === "routed") {
      model = step.routed.model.name;
    } else if (step.type === "start") {
      const created = Math.floor(Date.now() / 1000);
      writer = new ChunkWriter(step.id || `chatcmpl-weaver-${created}`, model, created);
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.write(writer.start());
    } else if (writer === undefined) {
    } else if (step.type === "finish") {
      res.write(writer.finish(step, request.includeUsage));
    } else {
      const chunk = writer.content(step);
      if (chunk !== undefined) res.write(chunk);
    }
  }
  res.end(DONE_EVENT);
}

/** Before any byte of an answer, an error is an HTTP error; in a stream it is an `error` event, as OpenAI sends. */
function replyError(res: ServerResponse, error: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  const reply = toOpenAIError(error);
  if (res.headersSent) {
    res.end(`data: ${reply.body}\n\n`);
    return;
  }
  res.writeHead(reply.status, { ...reply.headers, "content-type": "application/json" });
  res.end(reply.body);
}

/**
 * The caller's deadline, as the official OpenAI SDKs send their timeout: `x-stainless-timeout`, in
 * whole seconds. Absent or not a positive number: none, and the default applies.
 */
function callerTimeoutMs(req: IncomingMessage): number | undefined {
  const seconds = Number(req.headers["x-stainless-timeout"]);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}
