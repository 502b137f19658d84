import type { IncomingMessage, ServerResponse } from "node:http";
import { GatewayError } from "../errors/gateway-error.js";
import type { Logger } from "../log/logger.js";
import type { GatewayMetrics } from "../metrics/gateway-metrics.js";
import type { ModelRouter } from "../router/model-router.js";
import { boundCall } from "../service/call-bounds.js";
import { generate, generateStream } from "../service/generation.js";
import type { RpcFacts } from "../service/rpc-facts.js";
import { UpstreamObserver } from "../service/upstream-observer.js";
import { type ValidationLimits, validateRequest } from "../service/validate-request.js";
import { type ParsedChatRequest, parseChatRequest } from "./chat-request.js";
import { ChunkWriter, completionJson, DONE_EVENT } from "./chat-response.js";
import { toOpenAIError } from "./openai-error.js";
import { closeAfterReply, readJsonBody } from "./request-body.js";

export interface OpenAIApiOptions {
  router: ModelRouter;
  metrics: GatewayMetrics;
  logger: Logger;
  limits: ValidationLimits;
  /** The deadline of a call whose caller sets none, ms. */
  defaultDeadlineMs: number;
}

/**
 * Headroom of the body limit over `max_request_bytes`, as the RPCs' wire limit has: validation
 * checks the text itself and names the field; this only stops a body too large to be worth parsing.
 */
const BODY_LIMIT_FACTOR = 4;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The OpenAI-compatible HTTP API on the gateway's port: `POST /v1/chat/completions` (JSON, or
 * SSE with `stream: true`) and `GET /v1/models`, served by the same router and pools as the RPCs.
 */
export function createOpenAIApi({ router, metrics, logger, limits, defaultDeadlineMs }: OpenAIApiOptions) {
  const chatCompletions: Handler = (req, res) => {
    const startedAt = performance.now();
    const facts: RpcFacts = { httpVersion: req.httpVersion };
    // The caller hanging up cancels the upstream request, as a cancelled RPC does.
    const abort = new AbortController();
    res.once("close", () => {
      // writableEnded, not writableFinished: HTTP/2's compatibility response finishes on RST_STREAM too.
      if (!res.writableEnded) abort.abort(new GatewayError("cancelled", "the caller went away"));
    });
    const bounds = boundCall(abort.signal, callerTimeoutMs(req), defaultDeadlineMs);
    const finish = (error: unknown) => {
      bounds.end();
      const code = error === undefined ? "ok" : error instanceof GatewayError ? error.kind : "internal";
      metrics.rpcs.inc({ method: "ChatCompletions", protocol: "openai", code });
      const durationMs = performance.now() - startedAt;
      metrics.rpcDuration.observe({ method: "ChatCompletions", protocol: "openai" }, durationMs / 1000);
      const { model, provider, attempts, connectionReused } = facts;
      const entry = {
        method: "ChatCompletions",
        protocol: "openai",
        http: facts.httpVersion,
        model,
        provider,
        code,
      };
      logger.info(
        {
          ...entry,
          durationMs: Math.round(durationMs * 1000) / 1000,
          attempts,
          upstreamReused: connectionReused,
        },
        "rpc",
      );
    };
    readJsonBody(req, limits.maxRequestBytes * BODY_LIMIT_FACTOR)
      .then(async (body) => {
        const request = parseChatRequest(body);
        facts.model = request.input.model;
        const chat = validateRequest(request.input, limits);
        const observer = new UpstreamObserver(metrics, facts);
        if (request.stream) {
          await streamCompletion(
            res,
            request,
            await generateStream(router, request.input.model, chat, bounds, observer, facts),
          );
        } else {
          const routed = await generate(router, request.input.model, chat, bounds, observer, facts);
          const body = completionJson(routed.value, routed.model.name, Math.floor(Date.now() / 1000));
          res.writeHead(200, {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
          });
          res.end(body);
        }
        finish(undefined);
      })
      .catch((error: unknown) => {
        if (error instanceof GatewayError === false)
          logger.error({ err: error }, "openai api: unexpected error");
        finish(error);
        closeAfterReply(req, res);
        replyError(res, error);
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
  { routed, events }: Awaited<ReturnType<typeof generateStream>>,
): Promise<void> {
  let writer: ChunkWriter | undefined;
  for await (const event of events) {
    if (event.type === "start") {
      const created = Math.floor(Date.now() / 1000);
      writer = new ChunkWriter(event.id || `chatcmpl-weaver-${created}`, routed.model.name, created);
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.write(writer.delta({ role: "assistant", content: "" }));
    } else if (writer === undefined) {
    } else if (event.type === "delta") {
      res.write(writer.delta({ content: event.text }));
    } else {
      res.write(writer.delta({}, event.finishReason));
      if (request.includeUsage) res.write(writer.usage(event.usage));
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
