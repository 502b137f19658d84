import { once } from "node:events";
import { connect, constants } from "node:http2";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createGatewayClient, type GatewayClient } from "../../packages/client/src/index.js";
import { startTestGateway, type TestGateway } from "../support/test-gateway.js";

const PROMPT = "What does the gateway pool?";
const MAX_TOKENS = 12;
const messages = [{ role: "user" as const, content: PROMPT }];

let gw: TestGateway;
let openai: OpenAI;
let grpc: GatewayClient;

beforeAll(async () => {
  // A few ms a token: a long stream is still streaming when a test gives up on it.
  gw = await startTestGateway({ demo: { inter_token_delay: "5ms" } });
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused-by-the-gateway", maxRetries: 0 });
  grpc = createGatewayClient({ baseUrl: gw.url });
});
afterAll(() => gw?.close());

/** At 5 ms a token, 500 tokens stream for over 2 s: far longer than any cancel below. */
const LONG_STREAM = {
  model: "demo",
  messages: [{ role: "user" as const, content: "a long story" }],
  max_tokens: 500,
};

/** Resolves on the demo upstream's next "reset"; call it before the cancel, so it cannot be missed. */
function nextUpstreamReset(guardMs = 5_000): Promise<unknown> {
  const guard = AbortSignal.timeout(guardMs);
  return once(gw.demo, "reset", { signal: guard }).catch((error: unknown) => {
    throw guard.aborted ? new Error(`the upstream stream was not reset within ${guardMs} ms`) : error;
  });
}

async function expectLastChatCompletionsLog(fields: Record<string, unknown>): Promise<void> {
  await expect
    .poll(() => gw.logs.filter((line) => line.method === "ChatCompletions").at(-1), { timeout: 5_000 })
    .toMatchObject({ protocol: "openai", model: "demo", ...fields });
}

/** What gRPC Generate answers for the same prompt and max_tokens: the OpenAI API must agree. */
async function grpcAnswer() {
  const reply = await grpc.generate({ model: "demo", messages, maxTokens: MAX_TOKENS });
  const { inputTokens = 0, outputTokens = 0 } = reply.usage ?? {};
  return {
    text: reply.text,
    usage: {
      prompt_tokens: inputTokens,
      completion_tokens: outputTokens,
      total_tokens: inputTokens + outputTokens,
    },
  };
}

describe("the official openai SDK pointed at the gateway", () => {
  test("completes a unary call with the text and usage of gRPC Generate", async () => {
    const expected = await grpcAnswer();
    const completion = await openai.chat.completions.create({
      model: "demo",
      messages,
      max_tokens: MAX_TOKENS,
    });
    expect(completion).toMatchObject({ object: "chat.completion", model: "demo", usage: expected.usage });
    expect(completion.choices).toEqual([
      {
        index: 0,
        message: { role: "assistant", content: expected.text, refusal: null },
        logprobs: null,
        finish_reason: "length",
      },
    ]);
  });

  test("streams the same text, then a usage chunk with no choices when include_usage is set", async () => {
    const expected = await grpcAnswer();
    const stream = await openai.chat.completions.create({
      model: "demo-alias",
      messages,
      max_completion_tokens: MAX_TOKENS,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);

    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: "assistant", content: "" });
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe(expected.text);
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta.content).length).toBe(MAX_TOKENS);
    const [finish, usage] = chunks.slice(-2);
    expect(finish?.choices[0]?.finish_reason).toBe("length");
    expect(usage).toMatchObject({ choices: [], usage: expected.usage, model: "demo" });
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
  });

  test("sends no usage chunk unless asked", async () => {
    const stream = await openai.chat.completions.create({
      model: "demo",
      messages,
      max_tokens: 3,
      stream: true,
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((chunk) => chunk.choices.length === 1 && chunk.usage == null)).toBe(true);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("length");
  });

  test("lists the demo model", async () => {
    const models = [];
    for await (const model of openai.models.list()) models.push(model);
    expect(models).toEqual([{ id: "demo", object: "model", created: expect.any(Number), owned_by: "demo" }]);
  });

  test("cancels the upstream stream when the caller aborts", async () => {
    const reset = nextUpstreamReset();
    const stream = await openai.chat.completions.create({ ...LONG_STREAM, stream: true });
    // The SDK ends the iteration quietly when its controller aborts.
    let tokens = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content && ++tokens === 2) stream.controller.abort();
    }
    // Chunks the SDK had already read with the second (5 ms apart, one network read on a busy
    // machine) may still come out; the stream stops there, far short of its 96 tokens.
    expect(tokens).toBeGreaterThanOrEqual(2);
    expect(tokens).toBeLessThan(10);
    await reset;
    await expectLastChatCompletionsLog({ http: "1.1", code: "canceled" });
  });
});

describe("a caller over HTTP/2 (prior knowledge)", () => {
  test("resetting its stream cancels the upstream stream", async () => {
    const session = connect(gw.url);
    try {
      const reset = nextUpstreamReset();
      const request = session.request({
        ":method": "POST",
        ":path": "/v1/chat/completions",
        "content-type": "application/json",
      });
      request.end(JSON.stringify({ ...LONG_STREAM, stream: true }));
      await once(request, "data");
      request.close(constants.NGHTTP2_CANCEL);
      await reset;
      await expectLastChatCompletionsLog({ http: "2.0", code: "canceled" });
    } finally {
      session.close();
    }
  });
});

describe("errors in OpenAI's shape and status codes", () => {
  test("an unknown model is 404 model_not_found, unary or streamed", async () => {
    const request = { model: "no-such-model", messages };
    // Called one at a time: a second call made up front would reject before it is awaited.
    for (const call of [
      () => openai.chat.completions.create(request),
      () => openai.chat.completions.create({ ...request, stream: true }),
    ]) {
      const error = await call().catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect(error).toMatchObject({ status: 404, code: "model_not_found", type: "invalid_request_error" });
      expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain("no-such-model");
    }
  });

  test("n other than 1 is a 400 naming n", async () => {
    const error = await openai.chat.completions.create({ model: "demo", messages, n: 2 }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, type: "invalid_request_error" });
    expect(error.error.message).toBe("n must be 1: this gateway returns one choice");
  });

  test.each([
    { body: { messages: [{ role: "user", content: "hi" }] }, says: "model is required" },
    {
      body: { model: "demo", messages: [{ role: "user", content: "hi" }], temperature: "hot" },
      says: "temperature is invalid: expected number, received string",
    },
    {
      body: { model: "demo", messages: [{ role: "user", content: "hi" }], tools: [{ type: "function" }] },
      says: "tools[0].function is required",
    },
    {
      body: {
        model: "demo",
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "what is said?" },
              { type: "input_audio", input_audio: { data: "UklGR", format: "wav" } },
            ],
          },
        ],
      },
      says: "messages[0].content[1] must be a text or image_url part: audio is not supported",
    },
    {
      body: { model: "demo", messages: [{ role: "user", content: "hi" }], logprobs: true },
      says: "logprobs must be false: log probabilities are not supported",
    },
  ])("a 400 reads as a sentence: $says", async ({ body, says }) => {
    const response = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe(says);
  });

  test("empty messages are a 400 naming the field", async () => {
    const error = await openai.chat.completions.create({ model: "demo", messages: [] }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.error).toMatchObject({
      message: "messages must hold at least one message",
      type: "invalid_request_error",
    });
  });

  test("a body that is not JSON is a 400 in the same shape", async () => {
    const response = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toEqual({
      error: {
        message: "body is not valid JSON",
        type: "invalid_request_error",
        param: null,
        code: "invalid_field",
      },
    });
  });
});

describe("the SSE wire format", () => {
  test("ends with data: [DONE], after a usage chunk with choices: [] when include_usage is set", async () => {
    const expected = await grpcAnswer();
    const response = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "demo",
        messages,
        max_tokens: MAX_TOKENS,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const body = await response.text();
    expect(body.endsWith("\n\ndata: [DONE]\n\n")).toBe(true);

    const events = body
      .split("\n\n")
      .filter(Boolean)
      .map((event) => {
        expect(event).toMatch(/^data: /);
        return event.slice("data: ".length);
      });
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data));
    expect(chunks.every((chunk) => chunk.object === "chat.completion.chunk")).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: expected.usage });
    expect(chunks.slice(0, -1).every((chunk) => chunk.choices.length === 1 && !("usage" in chunk))).toBe(
      true,
    );
  });
});
