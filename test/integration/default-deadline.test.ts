import { Code } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import {
  collectStream,
  errorOf,
  generateRequest,
  streamRequest,
  useFakeOpenAIGateway,
} from "../support/provider-gateway.js";

const KEY = "sk-deadline-0123456789abcdef";
const MODEL = "openai/gpt-x";

/**
 * Issue 12: a call whose caller sets no deadline gets the gateway's default
 * (`server.default_deadline`), on every API; the OpenAI SDKs' `x-stainless-timeout` is the caller's.
 * The upstream hangs: only a deadline ends these calls.
 */
describe("the default deadline", () => {
  const openai = useFakeOpenAIGateway(KEY, { server: { default_deadline: "300ms" } });
  const fake = () => openai.fake;

  afterEach(() => {
    fake().respondAlways(undefined);
  });

  it.each(["unary", "stream"] as const)(
    "ends a %s RPC that set no deadline DEADLINE_EXCEEDED, naming server.default_deadline, and resets the upstream request",
    async (kind) => {
      fake().respondAlways({ kind: "hang" });
      const aborted = fake().aborts;
      const call =
        kind === "unary"
          ? openai.gw.client.generate(generateRequest({ model: MODEL }))
          : collectStream(openai.gw.client.generateStream(streamRequest({ model: MODEL })));
      const error = await errorOf(call);
      expect(error.code).toBe(Code.DeadlineExceeded);
      expect(error.rawMessage).toContain("default of 300 ms (server.default_deadline) passed");
      await expect.poll(() => fake().aborts).toBeGreaterThan(aborted);
    },
  );

  it("a caller's own deadline still wins over the default", async () => {
    fake().respondAlways({ kind: "hang" });
    const error = await errorOf(
      openai.gw.client.generate(generateRequest({ model: MODEL }), { timeoutMs: 100 }),
    );
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(error.rawMessage).not.toContain("server.default_deadline");
  });

  const chat = (headers: Record<string, string> = {}) =>
    fetch(`${openai.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "hi" }] }),
    });

  it("ends an OpenAI-API call with no timeout header 504 timeout_error, naming the default", async () => {
    fake().respondAlways({ kind: "hang" });
    const response = await chat();
    expect(response.status).toBe(504);
    const body = (await response.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe("timeout_error");
    expect(body.error.message).toContain("server.default_deadline");
  });

  it("takes the OpenAI SDKs' x-stainless-timeout (seconds) as the caller's deadline", async () => {
    fake().respondAlways({ kind: "hang" });
    const response = await chat({ "x-stainless-timeout": "1" });
    expect(response.status).toBe(504);
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toContain("the caller's deadline of 1000 ms passed");
  });
});
