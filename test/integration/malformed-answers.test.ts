import { Code } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_EVENT_CHARS } from "../../src/providers/sse-decoder.js";
import {
  collectStream,
  errorOf,
  generateRequest,
  streamRequest,
  useFakeOpenAIGateway,
} from "../support/provider-gateway.js";

const KEY = "sk-malformed-0123456789abcdef";
const MODEL = "openai/gpt-x";
const CALL = { timeoutMs: 10_000 };

/** Issue 11: answers no provider should send end one RPC with a clear status, never the process. */
describe("malformed answers from an upstream", () => {
  const openai = useFakeOpenAIGateway(KEY);

  afterEach(() => {
    openai.fake.respondAlways(undefined);
  });

  const completion = {
    id: "chatcmpl-json",
    object: "chat.completion",
    choices: [
      { index: 0, message: { role: "assistant", content: "Whole, not streamed." }, finish_reason: "stop" },
    ],
    usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
  };

  it("a stream answered with a whole JSON completion (stream: true ignored) is relayed as a stream", async () => {
    openai.fake.respondAlways({
      kind: "raw",
      headers: { "content-type": "application/json" },
      chunks: [JSON.stringify(completion)],
    });
    const stream = await collectStream(
      openai.gw.client.generateStream(streamRequest({ model: MODEL }), CALL),
    );
    expect(stream.order).toEqual(["start", "delta", "finish"]);
    expect(stream.start?.id).toBe("chatcmpl-json");
    expect(stream.text).toBe("Whole, not streamed.");
    expect(stream.finish?.usage).toMatchObject({ inputTokens: 3, outputTokens: 4 });
  });

  it("a stream answered with an HTML page is UNAVAILABLE, naming what came", async () => {
    openai.fake.respondAlways({
      kind: "raw",
      headers: { "content-type": "text/html; charset=utf-8" },
      chunks: ["<html><body>Sign in to the Wi-Fi</body></html>"],
    });
    const error = await errorOf(
      collectStream(openai.gw.client.generateStream(streamRequest({ model: MODEL }), CALL)),
    );
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).toContain("text/html, not an event stream");
    expect(error.metadata.get("weaver-error-reason")).toBe("UPSTREAM_MALFORMED");
  });

  it(`an event line over ${MAX_EVENT_CHARS} characters ends the stream UNAVAILABLE instead of growing without bound`, async () => {
    const line = `data: {"id":"x","choices":[{"delta":{"content":"${"a".repeat(10 * 1024 * 1024)}`;
    openai.fake.respondAlways({
      kind: "raw",
      headers: { "content-type": "text/event-stream" },
      chunks: [line.slice(0, 5_000_000), line.slice(5_000_000)],
    });
    const error = await errorOf(
      collectStream(openai.gw.client.generateStream(streamRequest({ model: MODEL }), CALL)),
    );
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).toContain(`a stream event over ${MAX_EVENT_CHARS} characters`);
  });

  it.each([
    { what: "not JSON", body: "<html>502 Bad Gateway</html>", words: "a body that is not JSON" },
    { what: "empty", body: "", words: "a body that is not JSON" },
    { what: "JSON without a choice", body: "{}", words: "without a choice" },
  ])("a unary 200 whose body is $what is UNAVAILABLE", async ({ body, words }) => {
    openai.fake.respondAlways({
      kind: "raw",
      headers: { "content-type": "application/json" },
      chunks: [body],
    });
    const error = await errorOf(openai.gw.client.generate(generateRequest({ model: MODEL }), CALL));
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).toContain(words);
    expect(error.metadata.get("weaver-error-reason")).toBe("UPSTREAM_MALFORMED");
  });
});
