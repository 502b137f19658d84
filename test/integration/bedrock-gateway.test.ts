import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FinishReason } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { loadConfig, parseConfig } from "../../src/config/load-config.js";
import { type Gateway, startGateway } from "../../src/gateway.js";
import { createLogger } from "../../src/log/logger.js";
import { type FakeBedrock, startFakeBedrock } from "../support/fakes/fake-bedrock.js";
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
import { CREDENTIALS, MODEL, REGION } from "../unit/bedrock-wire-harness.js";

// Bedrock behind the gateway's own APIs: gRPC Generate and GenerateStream and the OpenAI API, each
// request signed and the signature checked by the fake; and a gateway with no file that serves
// bedrock/<modelId> from the AWS SDKs' variables (the provider's wire format: bedrock-provider.test.ts).
const TEXT = "Hello world, from a fake.";
const silent = createLogger({ LOG_LEVEL: "silent" });
const AWS_ENV = {
  AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  AWS_SESSION_TOKEN: CREDENTIALS.sessionToken ?? "",
};

describe("Bedrock through the gateway", () => {
  let fake: FakeBedrock;
  let gw: ProviderGateway;
  beforeAll(async () => {
    fake = await startFakeBedrock({ credentials: CREDENTIALS, region: REGION });
    gw = await startProviderGateway({
      providers: {
        bedrock: {
          type: "bedrock",
          upstream: fake,
          settings: {
            region: REGION,
            access_key_id_env: "TEST_AWS_ID",
            secret_access_key_env: "TEST_AWS_SECRET",
            session_token_env: "TEST_AWS_TOKEN",
          },
          env: {
            TEST_AWS_ID: CREDENTIALS.accessKeyId,
            TEST_AWS_SECRET: CREDENTIALS.secretAccessKey,
            TEST_AWS_TOKEN: CREDENTIALS.sessionToken ?? "",
          },
        },
      },
      models: { sonnet: { deployments: [{ provider: "bedrock", model: MODEL }] } },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it("Generate: the model's converse path, signed with the named credentials and verified by the fake", async () => {
    const verified = fake.verifiedSignatures;
    fake.respondWith({ kind: "answer", text: TEXT });
    const res = await gw.client.generate(generateRequest({ model: "sonnet", system: "Be brief" }));
    expect(res.text).toBe(TEXT);
    expect(res.finishReason).toBe(FinishReason.STOP);
    expect(res.upstream).toMatchObject({ provider: "bedrock", model: MODEL, protocol: "h2" });
    expect(lastRequest(fake).path).toBe(`/model/${encodeURIComponent(MODEL)}/converse`);
    expect(lastRequest(fake).headers["x-amz-security-token"]).toBe(CREDENTIALS.sessionToken);
    expect(fake.verifiedSignatures).toBe(verified + 1);
  });

  it("GenerateStream: converse-stream, AWS's binary event stream read as deltas and a finish", async () => {
    fake.respondWith({ kind: "answer", text: TEXT });
    const stream = await collectStream(gw.client.generateStream(streamRequest({ model: "sonnet" })));
    expect(stream.text).toBe(TEXT);
    expect(stream.finish?.finishReason).toBe(FinishReason.STOP);
    expect(stream.finish?.usage?.outputTokens).toBeGreaterThan(0);
    expect(lastRequest(fake).path).toBe(`/model/${encodeURIComponent(MODEL)}/converse-stream`);
  });

  it("the OpenAI API, unary and streaming, answered from Bedrock in OpenAI's shapes", async () => {
    fake.respondWith({ kind: "answer", text: TEXT }, { kind: "answer", text: TEXT });
    expect(await openAIApiTexts(gw.url, "sonnet")).toEqual({ unary: TEXT, streamed: TEXT, done: true });
  });

  it("PoolStats shows the calls sharing one pooled connection", async () => {
    await expectOnePooledConnection(gw.client, fake.origin, 4);
  });
});

describe("Bedrock with no file: bedrock/<modelId> from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION", () => {
  let fake: FakeBedrock;
  let gateway: Gateway;
  beforeAll(async () => {
    fake = await startFakeBedrock({ credentials: CREDENTIALS, region: REGION, cleartext: true });
    const env = { PORT: "0", ...AWS_ENV, AWS_REGION: REGION, AWS_ENDPOINT_URL_BEDROCK_RUNTIME: fake.origin };
    gateway = await startGateway(loadConfig({ env }), { logger: silent, env });
  });
  afterAll(async () => {
    await gateway?.close();
    await fake?.close();
  });

  it("serves bedrock/<modelId> at AWS_ENDPOINT_URL_BEDROCK_RUNTIME, signed for AWS_REGION", async () => {
    fake.respondWith({ kind: "answer", text: TEXT });
    const res = await gatewayClient(gateway.url).generate(generateRequest({ model: `bedrock/${MODEL}` }));
    expect(res.text).toBe(TEXT);
    expect(res.upstream).toMatchObject({ provider: "bedrock", model: MODEL, origin: fake.origin });
    expect(fake.verifiedSignatures).toBeGreaterThan(0);
  });
});

describe("a Bedrock provider's region and credentials", () => {
  const start = (env: NodeJS.ProcessEnv) =>
    startGateway(
      parseConfig({
        server: { host: "127.0.0.1", port: 0 },
        providers: { aws: { type: "bedrock" } },
        models: {},
      }),
      { logger: silent, env },
    ).then(
      (gateway) => gateway.close().then(() => "started"),
      (error: Error) => error.message,
    );

  it("come from the AWS SDKs' variables; each one missing is named", async () => {
    expect(await start({ ...AWS_ENV, AWS_DEFAULT_REGION: REGION })).toBe("started");
    const failure = await start({});
    expect(failure).toContain("providers.aws.region: not set, and AWS_REGION is not set either");
    expect(failure).toContain(
      "providers.aws.access_key_id_env: the environment variable AWS_ACCESS_KEY_ID is not set",
    );
    expect(failure).toContain(
      "providers.aws.secret_access_key_env: the environment variable AWS_SECRET_ACCESS_KEY is not set",
    );
  });
});
