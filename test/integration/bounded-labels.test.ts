import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeOpenAI, startFakeOpenAI } from "../support/fakes/index.js";
import { generateRequest, type ProviderGateway, startProviderGateway } from "../support/provider-gateway.js";

const KEY = "sk-labels-0123456789abcdef";

/** Issue 11: a caller-chosen passthrough model name must not become an unbounded metric label. */
describe("metric labels of passthrough models", () => {
  let fake: FakeOpenAI;
  let gw: ProviderGateway;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ apiKey: KEY });
    gw = await startProviderGateway({
      providers: { openai: { type: "openai", upstream: fake, apiKey: KEY } },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it("fold into <provider>/*, however many names callers make up", async () => {
    const names = Array.from(
      { length: 40 },
      (_, i) => `openai/made-up-${i}-${Math.random().toString(36).slice(2)}`,
    );
    for (const model of names) await gw.client.generate(generateRequest({ model }));
    const { body } = await gw.gateway.metrics.exposition();
    const tokenModels = new Set(
      [...body.matchAll(/^weaver_tokens_total\{[^}]*model="([^"]*)"/gm)].map((m) => m[1]),
    );
    expect(tokenModels).toEqual(new Set(["openai/*"]));
    for (const model of names) expect(body).not.toContain(model.slice("openai/".length));
  });
});
