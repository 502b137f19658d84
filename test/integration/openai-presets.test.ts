import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, parseConfig } from "../../src/config/load-config.js";
import { type Gateway, startGateway } from "../../src/gateway.js";
import { createLogger } from "../../src/log/logger.js";
import { OPENAI_PRESETS } from "../../src/providers/openai/presets.js";
import { errorOf } from "../support/error-of.js";
import { type FakeOpenAI, startFakeOpenAI } from "../support/fakes/index.js";
import {
  collectStream,
  gatewayClient,
  generateRequest,
  lastRequest,
  type ProviderGateway,
  startProviderGateway,
  streamRequest,
} from "../support/provider-gateway.js";

// OpenAI-compatible services by name: `type: mistral` is the openai provider with Mistral's base
// URL, key variable and dialect.
const KEY = "preset-test-key-0123456789abcdef";
const TEXT = "Hello world, from a fake.";
const silent = createLogger({ LOG_LEVEL: "silent" });

describe("a preset speaks its service's dialect", () => {
  let mistral: FakeOpenAI;
  let openrouter: FakeOpenAI;
  let gw: ProviderGateway;
  beforeAll(async () => {
    // Mistral's API takes random_seed, not seed, and refuses stream_options: it reports usage unasked.
    [mistral, openrouter] = await Promise.all([
      startFakeOpenAI({ apiKey: KEY, fields: { add: ["random_seed"], remove: ["seed", "stream_options"] } }),
      startFakeOpenAI({ apiKey: KEY }),
    ]);
    gw = await startProviderGateway({
      providers: {
        mistral: { type: "mistral", upstream: mistral, apiKey: KEY },
        openrouter: { type: "openrouter", upstream: openrouter, apiKey: KEY },
      },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await Promise.all([mistral?.close(), openrouter?.close()]);
  });

  it("mistral: the seed as random_seed, and a stream without stream_options", async () => {
    await gw.client.generate({ ...generateRequest({ model: "mistral/mistral-large-latest" }), seed: 7n });
    expect(lastRequest(mistral).body).toMatchObject({ model: "mistral-large-latest", random_seed: 7 });
    expect(lastRequest(mistral).body).not.toHaveProperty("seed");
    mistral.respondWith({ kind: "stream", text: TEXT });
    const stream = await collectStream(gw.client.generateStream(streamRequest({ model: "mistral/m" })));
    expect(stream.text).toBe(TEXT);
    expect(lastRequest(mistral).body).toMatchObject({ stream: true });
    expect(lastRequest(mistral).body).not.toHaveProperty("stream_options");
    const refused = await errorOf(
      gw.client.generate({ ...generateRequest({ model: "mistral/m" }), user: "u-1" }),
    );
    expect(refused.rawMessage).toContain("user is not supported by provider mistral");
  });

  it("openrouter: its SSE comments are read past, and an error chunk mid-stream ends the stream with it", async () => {
    openrouter.respondWith({ kind: "stream", flavour: "openrouter", text: TEXT });
    const stream = await collectStream(
      gw.client.generateStream(streamRequest({ model: "openrouter/openai/gpt-4o" })),
    );
    expect(stream.text).toBe(TEXT);
    expect(lastRequest(openrouter).body).toMatchObject({ model: "openai/gpt-4o" });
    openrouter.respondWith({
      kind: "stream",
      flavour: "openrouter",
      text: TEXT,
      errorAfterEvents: 3,
      errorMessage: "Provider returned error",
    });
    const cut = await errorOf(
      collectStream(gw.client.generateStream(streamRequest({ model: "openrouter/openai/gpt-4o" }))),
    );
    expect(cut.rawMessage).toContain("Provider returned error");
    expect(cut.rawMessage).toContain("in the stream");
  });
});

describe("presets with no file: <preset>/<model> for each preset whose key is set", () => {
  let gateway: Gateway;
  beforeAll(async () => {
    const env = { PORT: "0", GROQ_API_KEY: KEY, MISTRAL_API_KEY: KEY };
    gateway = await startGateway(loadConfig({ env }), { logger: silent, env });
  });
  afterAll(() => gateway?.close());

  it("lists groq/* and mistral/* at their services' origins, and no preset whose key is not set", async () => {
    const { models } = await gatewayClient(gateway.url).listModels({});
    const origins = Object.fromEntries(models.map((m) => [m.name, m.deployments[0]?.origin]));
    expect(origins).toEqual({
      demo: expect.any(String),
      "groq/*": new URL(OPENAI_PRESETS.groq.baseUrl).origin,
      "mistral/*": new URL(OPENAI_PRESETS.mistral.baseUrl).origin,
    });
  });

  it("an unknown prefix is NOT_FOUND, naming the presets served", async () => {
    const error = await errorOf(
      gatewayClient(gateway.url).generate(generateRequest({ model: "xai/grok-4" })),
    );
    expect(error.code).toBe(Code.NotFound);
    expect(error.rawMessage).toContain("groq/<model>");
  });
});

describe("a preset's key", () => {
  const start = (providers: Record<string, unknown>, env: NodeJS.ProcessEnv) =>
    startGateway(parseConfig({ server: { host: "127.0.0.1", port: 0 }, providers, models: {} }), {
      logger: silent,
      env,
    }).then(
      (gateway) => gateway.close().then(() => "started"),
      (error: Error) => error.message,
    );

  it("is read from the variable its service's SDK reads, and its absence names that variable", async () => {
    expect(await start({ groq: { type: "groq" } }, { GROQ_API_KEY: KEY })).toBe("started");
    expect(await start({ groq: { type: "groq" } }, {})).toContain(
      "providers.groq.api_key_env: the environment variable GROQ_API_KEY is not set",
    );
  });

  it("is not needed by a local server (ollama, vllm)", async () => {
    expect(await start({ local: { type: "ollama" }, gpu: { type: "vllm" } }, {})).toBe("started");
  });

  it("and a base URL from the environment are named by path when they cannot be used", async () => {
    const failure = await start(
      { gemini: { type: "gemini" }, azure: { type: "azure-openai" } },
      {
        GEMINI_API_KEY: KEY,
        GEMINI_BASE_URL: "generativelanguage.googleapis.com",
        AZURE_OPENAI_ENDPOINT: "ftp://my-resource.openai.azure.com",
        OPENAI_API_VERSION: "preview",
      },
    );
    expect(failure).toContain(
      'providers.gemini.base_url: GEMINI_BASE_URL is not an http(s) URL: "generativelanguage.googleapis.com"',
    );
    expect(failure).toContain(
      'providers.azure.endpoint: AZURE_OPENAI_ENDPOINT is not an http(s) URL: "ftp://my-resource.openai.azure.com"',
    );
    expect(failure).toContain('providers.azure.api_version: OPENAI_API_VERSION is not a version: "preview"');
    expect(failure).toContain(
      "providers.azure.api_key_env: the environment variable AZURE_OPENAI_API_KEY is not set",
    );
  });
});
