import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FinishReason } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { loadConfig } from "../../src/config/load-config.js";
import { type Gateway, startGateway } from "../../src/gateway.js";
import { createLogger } from "../../src/log/logger.js";
import { type FakeGemini, startFakeGemini } from "../support/fakes/fake-gemini.js";
import {
  collectStream,
  expectOnePooledConnection,
  gatewayClient,
  generateRequest,
  lastRequest,
  openAIApiTexts,
  type ProviderGateway,
  startProviderGateway,
  streamRequest,
} from "../support/provider-gateway.js";

// Gemini behind the gateway's own APIs: gRPC Generate and GenerateStream, the OpenAI API, and a
// gateway with no file that serves gemini/<model> from GEMINI_API_KEY (the provider's wire format
// itself: gemini-provider.test.ts).
const KEY = "AIzaSyTest0123456789abcdefghijklmnopq";
const TEXT = "Hello world, from a fake.";
const PROMPT = "Say hello to me";

describe("Gemini through the gateway", () => {
  let fake: FakeGemini;
  let gw: ProviderGateway;
  beforeAll(async () => {
    fake = await startFakeGemini({ apiKey: KEY });
    gw = await startProviderGateway({
      providers: { gemini: { type: "gemini", upstream: fake, apiKey: KEY } },
      models: { flash: { deployments: [{ provider: "gemini", model: "gemini-2.5-flash" }] } },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it("Generate: models/{model}:generateContent with the key in x-goog-api-key, never in the URL", async () => {
    fake.respondWith({ kind: "answer", text: TEXT });
    const res = await gw.client.generate(
      generateRequest({ model: "flash", content: PROMPT, system: "Be brief" }),
    );
    expect(res.text).toBe(TEXT);
    expect(res.finishReason).toBe(FinishReason.STOP);
    expect(res.upstream).toMatchObject({ provider: "gemini", model: "gemini-2.5-flash", protocol: "h2" });
    const request = lastRequest(fake);
    expect(request.path).toBe("/v1beta/models/gemini-2.5-flash:generateContent");
    expect(request.headers["x-goog-api-key"]).toBe(KEY);
    expect(request.body).toMatchObject({
      contents: [{ role: "user", parts: [{ text: PROMPT }] }],
      systemInstruction: { parts: [{ text: "Be brief" }] },
    });
  });

  it("GenerateStream: :streamGenerateContent?alt=sse, read as deltas and one finish with usage", async () => {
    fake.respondWith({ kind: "stream", text: TEXT });
    const stream = await collectStream(
      gw.client.generateStream(streamRequest({ model: "flash", content: PROMPT })),
    );
    expect(stream.text).toBe(TEXT);
    expect(stream.finish?.finishReason).toBe(FinishReason.STOP);
    expect(stream.finish?.usage?.outputTokens).toBeGreaterThan(0);
    expect(lastRequest(fake).path).toBe("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
  });

  it("the OpenAI API, unary and streaming, answered from Gemini in OpenAI's shapes", async () => {
    fake.respondWith({ kind: "answer", text: TEXT }, { kind: "stream", text: TEXT });
    expect(await openAIApiTexts(gw.url, "gemini/gemini-2.5-pro")).toEqual({
      unary: TEXT,
      streamed: TEXT,
      done: true,
    });
    expect(lastRequest(fake).path).toBe("/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse");
  });

  it("a blocked prompt is the CONTENT_FILTER finish reason", async () => {
    fake.respondWith({ kind: "answer", flavour: "blocked-prompt" });
    const res = await gw.client.generate(generateRequest({ model: "flash" }));
    expect(res.finishReason).toBe(FinishReason.CONTENT_FILTER);
  });

  it("PoolStats shows the calls sharing one pooled connection", async () => {
    await expectOnePooledConnection(gw.client, fake.origin, 5);
  });
});

describe("Gemini with no file: gemini/<model> from GEMINI_API_KEY, GEMINI_BASE_URL pointing elsewhere", () => {
  let fake: FakeGemini;
  let gateway: Gateway;
  beforeAll(async () => {
    fake = await startFakeGemini({ apiKey: KEY, cleartext: true });
    const env = { PORT: "0", GEMINI_API_KEY: KEY, GEMINI_BASE_URL: fake.origin };
    gateway = await startGateway(loadConfig({ env }), { logger: createLogger({ LOG_LEVEL: "silent" }), env });
  });
  afterAll(async () => {
    await gateway?.close();
    await fake?.close();
  });

  it("serves gemini/<model> at the base URL, with the key", async () => {
    fake.respondWith({ kind: "answer", text: TEXT });
    const res = await gatewayClient(gateway.url).generate(
      generateRequest({ model: "gemini/gemini-2.5-flash" }),
    );
    expect(res.text).toBe(TEXT);
    expect(res.upstream).toMatchObject({
      provider: "gemini",
      model: "gemini-2.5-flash",
      origin: fake.origin,
    });
    expect(lastRequest(fake).headers["x-goog-api-key"]).toBe(KEY);
  });
});
