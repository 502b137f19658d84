import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type FakeAnthropic,
  type FakeOpenAI,
  startFakeAnthropic,
  startFakeOpenAI,
} from "../support/fakes/index.js";
import { type GatewayProcess, spawnGateway } from "../support/gateway-process.js";
import { createGrpcJsGatewayClient, type GrpcJsGatewayClient } from "../support/grpc-js-client.js";

/**
 * Issue 11: an error event after a 200, delivered a few bytes at a time, killed the process. The
 * reader stopped at the error event while undici already held the end of the body; destroying
 * that body emits a RequestAbortedError, and nothing listened for it any more. The gateway runs as
 * its own process here, so a crash shows as an exit and not as a test runner's error.
 */
const KEY = "sk-issue-11-0123456789abcdef";
const KEY_ENV = "WEAVER_ISSUE_11_KEY";

describe("an error event that arrives in pieces (issue 11)", () => {
  const fakes: (FakeAnthropic | FakeOpenAI)[] = [];
  let anthropicH1: FakeAnthropic;
  let anthropicH2: FakeAnthropic;
  let openaiH1: FakeOpenAI;
  let gateway: GatewayProcess;
  let client: GrpcJsGatewayClient;
  let dir: string;

  beforeAll(async () => {
    [anthropicH1, anthropicH2, openaiH1] = await Promise.all([
      startFakeAnthropic({ apiKey: KEY, cleartext: true }),
      startFakeAnthropic({ apiKey: KEY }),
      startFakeOpenAI({ apiKey: KEY, cleartext: true }),
    ]);
    fakes.push(anthropicH1, anthropicH2, openaiH1);
    dir = mkdtempSync(join(tmpdir(), "weaver-issue-11-"));
    writeFileSync(join(dir, "ca.pem"), anthropicH2.ca);
    process.env[KEY_ENV] = KEY;
    const provider = (type: string, baseUrl: string, ca?: string) => ({
      type,
      base_url: baseUrl,
      api_key_env: KEY_ENV,
      passthrough_models: true,
      ...(ca ? { ca_file: ca } : {}),
    });
    gateway = await spawnGateway({
      server: { host: "127.0.0.1", port: 0 },
      // No cooldown: every case meets its fault on a healthy deployment, and the next call is served.
      router: { allowed_failures: 1000 },
      providers: {
        "anthropic-h1": provider("anthropic", anthropicH1.origin),
        "anthropic-h2": provider("anthropic", anthropicH2.origin, join(dir, "ca.pem")),
        "openai-h1": provider("openai", `${openaiH1.origin}/v1`),
      },
    });
    client = createGrpcJsGatewayClient(gateway.url);
  });

  afterAll(async () => {
    client?.close();
    await gateway?.dispose();
    await Promise.all(fakes.map((fake) => fake.close()));
    delete process.env[KEY_ENV];
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const stream = (model: string) =>
    client.serverStream("generateStream", { model, messages: [{ role: "user", content: "hi" }] });
  const failure = (model: string) =>
    stream(model).then(
      () => expect.fail("the stream succeeded"),
      (error: unknown) => error as ServiceError,
    );

  /** Alive, nothing uncaught, and the next stream over the same pool is whole. */
  async function expectStillServing(model: string): Promise<void> {
    const messages = await stream(model);
    expect(messages.at(-1)).toHaveProperty("finish");
    expect(gateway.child.exitCode).toBeNull();
    expect(gateway.stderr()).not.toMatch(/Unhandled|uncaught|RequestAbortedError/i);
  }

  it.each([
    { transport: "HTTP/1.1", chunkBytes: 1 },
    { transport: "HTTP/1.1", chunkBytes: 3 },
    { transport: "HTTP/1.1", chunkBytes: 5000 },
    { transport: "TLS HTTP/2", chunkBytes: 3 },
  ])(
    "Anthropic's lone overloaded_error event over $transport in $chunkBytes-byte pieces is UNAVAILABLE, and the gateway serves on",
    async ({ transport, chunkBytes }) => {
      const [fake, model] =
        transport === "HTTP/1.1"
          ? [anthropicH1, "anthropic-h1/claude-x"]
          : [anthropicH2, "anthropic-h2/claude-x"];
      fake.respondWith({ kind: "stream", text: "Hello world", errorAfterEvents: 0, chunkBytes });
      const sentBefore = fake.requestCount;
      const error = await failure(model);
      // The upstream had answered 200: the request is not sent again.
      expect(fake.requestCount - sentBefore).toBe(1);
      expect(error.code).toBe(GrpcStatus.UNAVAILABLE);
      expect(error.details).toContain("overloaded_error");
      expect(error.details).not.toContain(KEY);
      await expectStillServing(model);
    },
  );

  it("an OpenAI-compatible error object mid-stream in 2-byte pieces ends the RPC, and the gateway serves on", async () => {
    openaiH1.respondWith({ kind: "stream", text: "Hello world", errorAfterEvents: 2, chunkBytes: 2 });
    const error = await failure("openai-h1/gpt-x");
    expect(error.code).toBe(GrpcStatus.INTERNAL);
    expect(error.details).toContain("in the stream");
    await expectStillServing("openai-h1/gpt-x");
  });
});
