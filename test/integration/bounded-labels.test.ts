import { describe, expect, it } from "vitest";
import { generateRequest, useFakeOpenAIGateway } from "../support/provider-gateway.js";

const KEY = "sk-labels-0123456789abcdef";

/** Issue 11: a caller-chosen passthrough model name must not become an unbounded metric label. */
describe("metric labels of passthrough models", () => {
  const openai = useFakeOpenAIGateway(KEY);

  it("fold into <provider>/*, however many names callers make up", async () => {
    const names = Array.from(
      { length: 40 },
      (_, i) => `openai/made-up-${i}-${Math.random().toString(36).slice(2)}`,
    );
    for (const model of names) await openai.gw.client.generate(generateRequest({ model }));
    const { body } = await openai.gw.gateway.metrics.exposition();
    const tokenModels = new Set(
      [...body.matchAll(/^weaver_tokens_total\{[^}]*model="([^"]*)"/gm)].map((m) => m[1]),
    );
    expect(tokenModels).toEqual(new Set(["openai/*"]));
    for (const model of names) expect(body).not.toContain(model.slice("openai/".length));
  });
});
