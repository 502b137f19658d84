import { once } from "node:events";
import { Code } from "@connectrpc/connect";
import { AzureOpenAI } from "openai";
import type { Agent } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FinishReason } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { loadConfig, parseConfig } from "../../src/config/load-config.js";
import { type Gateway, startGateway } from "../../src/gateway.js";
import { createLogger } from "../../src/log/logger.js";
import { errorOf } from "../support/error-of.js";
import { type FakeAzureOpenAI, startFakeAzureOpenAI } from "../support/fakes/fake-azure-openai.js";
import { tokenize, trustingAgent, trustingFetch } from "../support/fakes/index.js";
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
  UPSTREAM_PROTOCOLS,
} from "../support/provider-gateway.js";

// Azure OpenAI: OpenAI's chat completions under Azure's URLs, auth, stream quirks and error bodies,
// against a fake resource that the openai SDK's own AzureOpenAI client is shown to read.
const KEY = "azure-test-key-0123456789abcdef";
const DEPLOYMENT = "gpt-4o-prod";
const MODEL = `azure/${DEPLOYMENT}`;
const PROMPT = "Say hello to me"; // 4 prompt tokens for the fake
const TEXT = "Hello world, from a fake.";
/** Every call carries a deadline: a retry that would wait out a retry-after beyond it is not made. */
const CALL = { timeoutMs: 10_000 };

describe.each(UPSTREAM_PROTOCOLS)(
  "Azure OpenAI provider over $name",
  ({ http1Only, protocol, httpVersion }) => {
    let fake: FakeAzureOpenAI;
    let gw: ProviderGateway;
    beforeAll(async () => {
      fake = await startFakeAzureOpenAI({ apiKey: KEY, deployments: [DEPLOYMENT], http1Only });
      gw = await startProviderGateway({
        providers: { azure: { type: "azure-openai", upstream: fake, apiKey: KEY } },
      });
    });
    afterAll(async () => {
      await gw?.close();
      await fake?.close();
    });

    it("Generate reaches the deployment's URL with the api-version and the api-key header, and reads Azure's answer", async () => {
      fake.respondWith({ kind: "answer", flavour: "azure", text: TEXT });
      const res = await gw.client.generate(generateRequest({ model: MODEL, content: PROMPT }));
      expect(res.text).toBe(TEXT);
      expect(res.finishReason).toBe(FinishReason.STOP);
      expect(res.usage).toMatchObject({ inputTokens: 4, outputTokens: tokenize(TEXT).length });
      expect(res.upstream).toMatchObject({
        provider: "azure",
        model: DEPLOYMENT,
        origin: fake.origin,
        protocol,
      });
      const request = lastRequest(fake);
      expect(request).toMatchObject({
        path: `/openai/deployments/${DEPLOYMENT}/chat/completions?api-version=2024-10-21`,
        httpVersion,
      });
      expect(request.headers["api-key"]).toBe(KEY);
      expect(request.headers.authorization).toBeUndefined();
    });

    it("GenerateStream reads Azure's stream: a first chunk with no choices but prompt_filter_results, content_filter_results on every choice", async () => {
      fake.respondWith({ kind: "stream", flavour: "azure", text: TEXT });
      const stream = await collectStream(
        gw.client.generateStream(streamRequest({ model: MODEL, content: PROMPT })),
      );
      expect(stream.order[0]).toBe("start");
      expect(stream.text).toBe(TEXT);
      expect(stream.finish?.finishReason).toBe(FinishReason.STOP);
      expect(stream.finish?.usage).toMatchObject({ inputTokens: 4, outputTokens: tokenize(TEXT).length });
      expect(stream.finish?.upstream).toMatchObject({ provider: "azure", protocol });
    });

    it("sends a second call on the pooled connection", async () => {
      await gw.client.generate(generateRequest({ model: MODEL }));
      const second = await gw.client.generate(generateRequest({ model: MODEL }));
      expect(second.upstream?.connectionReused).toBe(true);
    });
  },
);

describe("Azure OpenAI: its settings, its refusals, the OpenAI API and cancellation", () => {
  let fake: FakeAzureOpenAI;
  let gw: ProviderGateway;
  // A fresh deployment per refusal, so that none inherits another's cooldown.
  let refusals = 0;
  const refused = () => `azure/refused-${++refusals}`;
  beforeAll(async () => {
    const spares = Array.from({ length: 20 }, (_, i) => `refused-${i + 1}`);
    fake = await startFakeAzureOpenAI({ apiKey: KEY, deployments: [DEPLOYMENT, ...spares] });
    gw = await startProviderGateway({
      providers: {
        azure: { type: "azure-openai", upstream: fake, apiKey: KEY },
        "azure-v1": {
          type: "azure-openai",
          upstream: fake,
          apiKey: KEY,
          settings: { api_version: "v1", auth: "bearer" },
        },
        "azure-preview": {
          type: "azure-openai",
          upstream: fake,
          apiKey: KEY,
          settings: { api_version: "2025-04-01-preview" },
        },
      },
    });
  });
  afterEach(() => fake.respondAlways(undefined));
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it("api_version: v1 uses the v1 URL, the deployment named in the body; auth: bearer sends a token", async () => {
    const res = await gw.client.generate(generateRequest({ model: `azure-v1/${DEPLOYMENT}` }));
    expect(res.text.length).toBeGreaterThan(0);
    const request = lastRequest(fake);
    expect(request.path).toBe("/openai/v1/chat/completions");
    expect(request.body).toMatchObject({ model: DEPLOYMENT });
    expect(request.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(request.headers["api-key"]).toBeUndefined();
  });

  it("a dated preview version goes in the query", async () => {
    await gw.client.generate(generateRequest({ model: `azure-preview/${DEPLOYMENT}` }));
    expect(lastRequest(fake).path).toBe(
      `/openai/deployments/${DEPLOYMENT}/chat/completions?api-version=2025-04-01-preview`,
    );
  });

  it("a content filter stopping the answer is the CONTENT_FILTER finish reason, unary and streaming", async () => {
    const filtered = {
      kind: "answer",
      flavour: "azure",
      text: TEXT,
      finishReason: "content_filter",
    } as const;
    fake.respondWith(filtered, filtered);
    const unary = await gw.client.generate(generateRequest({ model: MODEL }));
    const stream = await collectStream(gw.client.generateStream(streamRequest({ model: MODEL })));
    expect(unary.finishReason).toBe(FinishReason.CONTENT_FILTER);
    expect(stream.finish?.finishReason).toBe(FinishReason.CONTENT_FILTER);
  });

  it("a prompt the content filter refuses is INVALID_ARGUMENT naming the policy and the categories, not retried", async () => {
    fake.respondAlways({ kind: "error", status: 400 });
    const before = fake.requestCount;
    const error = await errorOf(gw.client.generate(generateRequest({ model: refused() }), CALL));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("azure content_filter/ResponsibleAIPolicyViolation");
    expect(error.rawMessage).toContain("[filtered: hate]");
    expect(error.rawMessage).toContain("HTTP 400");
    expect(fake.requestCount).toBe(before + 1);
  });

  it.each([
    { status: 401, code: Code.Unauthenticated, says: "Access denied due to invalid subscription key" },
    { status: 429, code: Code.ResourceExhausted, says: "exceeded token rate limit" },
    { status: 500, code: Code.Internal, says: "azure InternalServerError" },
  ])("HTTP $status in Azure's shape becomes code $code", async ({ status, code, says }) => {
    // A retry-after past the call's deadline: the refusal comes back as the resource sent it.
    fake.respondAlways({
      kind: "error",
      status,
      ...(status === 429 ? { retryAfter: 20, retryAfterMs: 20_000 } : {}),
    });
    const error = await errorOf(gw.client.generate(generateRequest({ model: refused() }), CALL));
    expect(error.code).toBe(code);
    expect(error.rawMessage).toContain(says);
    expect(error.rawMessage).not.toContain(KEY);
    // A code that only repeats the status is left out of the message.
    expect(error.rawMessage).not.toContain(`azure ${status}:`);
    if (status === 429) expect(error.metadata.get("retry-after-ms")).toBe("20000");
  });

  it("a deployment the resource does not have is NOT_FOUND, DeploymentNotFound", async () => {
    const error = await errorOf(
      gw.client.generate(generateRequest({ model: "azure/no-such-deployment" }), CALL),
    );
    expect(error.code).toBe(Code.NotFound);
    expect(error.rawMessage).toContain(
      "azure DeploymentNotFound: The API deployment for this resource does not exist",
    );
  });

  it("serves the OpenAI API from it, unary and streaming", async () => {
    fake.respondWith(
      { kind: "answer", flavour: "azure", text: TEXT },
      { kind: "stream", flavour: "azure", text: TEXT },
    );
    expect(await openAIApiTexts(gw.url, MODEL)).toEqual({ unary: TEXT, streamed: TEXT, done: true });
  });

  it("PoolStats shows the calls sharing one pooled connection", async () => {
    await expectOnePooledConnection(gw.client, fake.origin, 6);
  });

  it("a cancelled stream resets its upstream HTTP/2 stream", async () => {
    fake.respondAlways({ kind: "stream", flavour: "azure", text: TEXT.repeat(20), eventDelayMs: 25 });
    const aborted = once(fake, "abort");
    const controller = new AbortController();
    const stream = gw.client.generateStream(streamRequest({ model: MODEL }), { signal: controller.signal });
    for await (const message of stream) {
      if (message.event.case === "delta") break;
    }
    controller.abort();
    await aborted;
    expect(lastRequest(fake).httpVersion).toBe("2.0");
  });
});

describe("Azure OpenAI with no file: azure/<deployment> from AZURE_OPENAI_API_KEY and AZURE_OPENAI_ENDPOINT", () => {
  let fake: FakeAzureOpenAI;
  let gateway: Gateway;
  beforeAll(async () => {
    fake = await startFakeAzureOpenAI({ apiKey: KEY, cleartext: true });
    const env = {
      PORT: "0",
      AZURE_OPENAI_API_KEY: KEY,
      AZURE_OPENAI_ENDPOINT: fake.origin,
      OPENAI_API_VERSION: "2025-04-01-preview",
    };
    gateway = await startGateway(loadConfig({ env }), { logger: createLogger({ LOG_LEVEL: "silent" }), env });
  });
  afterAll(async () => {
    await gateway?.close();
    await fake?.close();
  });

  it("reaches the endpoint's deployment with the version OPENAI_API_VERSION names", async () => {
    const res = await gatewayClient(gateway.url).generate(generateRequest({ model: "azure/my-deployment" }));
    expect(res.upstream).toMatchObject({ provider: "azure", model: "my-deployment", origin: fake.origin });
    expect(lastRequest(fake).path).toBe(
      "/openai/deployments/my-deployment/chat/completions?api-version=2025-04-01-preview",
    );
  });
});

it("an azure-openai provider with no endpoint and no AZURE_OPENAI_ENDPOINT is a start-up error naming both", async () => {
  const config = parseConfig({
    server: { host: "127.0.0.1", port: 0 },
    providers: { azure: { type: "azure-openai", api_key_env: "WEAVER_TEST_KEY" } },
    models: { m: { deployments: [{ provider: "azure", model: DEPLOYMENT }] } },
  });
  const failure = await startGateway(config, {
    logger: createLogger({ LOG_LEVEL: "silent" }),
    env: { WEAVER_TEST_KEY: KEY },
  }).then(
    (gateway) => gateway.close().then(() => "started"),
    (error: Error) => error.message,
  );
  expect(failure).toContain("providers.azure.endpoint: not set, and AZURE_OPENAI_ENDPOINT is not set either");
});

describe("the fake Azure resource, through the openai SDK's AzureOpenAI client", () => {
  let fake: FakeAzureOpenAI;
  let agent: Agent;
  let client: AzureOpenAI;
  beforeAll(async () => {
    fake = await startFakeAzureOpenAI({ apiKey: KEY, deployments: [DEPLOYMENT] });
    agent = trustingAgent(fake);
    client = new AzureOpenAI({
      endpoint: fake.origin,
      apiKey: KEY,
      apiVersion: "2024-10-21",
      deployment: DEPLOYMENT,
      maxRetries: 0,
      fetch: trustingFetch(agent),
    });
  });
  afterAll(async () => {
    await agent?.close();
    await fake?.close();
  });

  it("reads a unary answer, and sent what the fake checks: the deployment URL, api-version, api-key", async () => {
    fake.respondWith({ kind: "answer", flavour: "azure", text: TEXT });
    const completion = await client.chat.completions.create({
      model: DEPLOYMENT,
      messages: [{ role: "user", content: PROMPT }],
    });
    expect(completion.choices[0]?.message.content).toBe(TEXT);
    expect(completion.usage?.prompt_tokens).toBe(4);
    expect(lastRequest(fake).path).toBe(
      `/openai/deployments/${DEPLOYMENT}/chat/completions?api-version=2024-10-21`,
    );
  });

  it("reads a stream, the empty first chunk included", async () => {
    fake.respondWith({ kind: "stream", flavour: "azure", text: TEXT });
    const stream = await client.chat.completions.create({
      model: DEPLOYMENT,
      messages: [{ role: "user", content: PROMPT }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let emptyChoices = 0;
    for await (const chunk of stream) {
      if (chunk.choices.length === 0 && chunk.usage == null) emptyChoices++;
      text += chunk.choices[0]?.delta?.content ?? "";
    }
    expect(text).toBe(TEXT);
    expect(emptyChoices).toBeGreaterThanOrEqual(1);
  });

  it("reads a content filter refusal as an API error with Azure's code", async () => {
    fake.respondWith({ kind: "error", status: 400 });
    const error = await client.chat.completions
      .create({ model: DEPLOYMENT, messages: [{ role: "user", content: PROMPT }] })
      .catch((e: unknown) => e as { status?: number; code?: string });
    expect(error).toMatchObject({ status: 400, code: "content_filter" });
  });
});
