import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, expect, test } from "vitest";
import { ToolChoiceMode } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import {
  type FakeAnthropic,
  type FakeOpenAI,
  startFakeAnthropic,
  startFakeOpenAI,
} from "../support/fakes/index.js";
import { type ProviderGateway, startProviderGateway } from "../support/provider-gateway.js";

// One model served by an OpenAI and an Anthropic deployment: a field only one of them carries is
// served by that one, whichever the router picks first, and no deployment is blamed for it.
const KEY = "sk-mixed-0123456789";
const messages = [{ role: "user", content: "hi" }];
let openai: FakeOpenAI;
let anthropic: FakeAnthropic;
let gw: ProviderGateway;
beforeAll(async () => {
  [openai, anthropic] = await Promise.all([
    startFakeOpenAI({ apiKey: KEY }),
    startFakeAnthropic({ apiKey: KEY }),
  ]);
  gw = await startProviderGateway({
    providers: {
      openai: { type: "openai", upstream: openai, apiKey: KEY },
      anthropic: { type: "anthropic", upstream: anthropic, apiKey: KEY },
    },
    models: {
      mixed: {
        deployments: [
          { provider: "openai", model: "gpt-4o-mini" },
          { provider: "anthropic", model: "claude-sonnet-4-5" },
        ],
      },
    },
  });
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([openai?.close(), anthropic?.close()]);
});

test.each([
  ["seed, which only OpenAI takes", { seed: 7n }, "openai"],
  [
    "a thinking budget, which only Anthropic takes",
    { reasoningBudgetTokens: 1024, maxTokens: 2048 },
    "anthropic",
  ],
])("%s is served by it, every time", async (_, fields, provider) => {
  const served = [];
  for (let i = 0; i < 8; i++) {
    const reply = await gw.client.generate({ model: "mixed", messages, ...fields });
    served.push(reply.upstream?.provider);
  }
  expect(served).toEqual(Array(8).fill(provider));
  // Refusing a field is no failure: both deployments stay healthy.
  const { models } = await gw.client.listModels({});
  const states = models
    .find((m) => m.name === "mixed")
    ?.deployments.map((d) => [d.state, Number(d.failuresTotal)]);
  expect(states).toEqual([
    ["healthy", 0],
    ["healthy", 0],
  ]);
});

test("a turn without tools that still sets tool_choice and parallel_tool_calls is served by either", async () => {
  const turn = {
    model: "mixed",
    messages,
    toolChoice: { choice: { case: "mode" as const, value: ToolChoiceMode.NONE } },
    parallelToolCalls: false,
  };
  const served = new Set<string | undefined>();
  for (let i = 0; i < 8; i++) served.add((await gw.client.generate(turn)).upstream?.provider);
  // The fake OpenAI refuses both fields without tools, as OpenAI does: none reached it.
  expect(served.size).toBeGreaterThan(0);
  for (const request of openai.requests) expect(request.body ?? {}).not.toHaveProperty("tool_choice");
  for (const request of anthropic.requests) expect(request.body ?? {}).not.toHaveProperty("tool_choice");
});

test("a request neither can carry is refused, naming the field and a provider", async () => {
  const error = await gw.client
    .generate({ model: "mixed", messages, seed: 7n, reasoningBudgetTokens: 1024, maxTokens: 2048 })
    .then(() => undefined, ConnectError.from);
  expect(error?.code).toBe(Code.InvalidArgument);
  expect(error?.rawMessage).toMatch(
    /(seed|reasoning_budget_tokens) is not supported by provider (openai|anthropic)/,
  );
});
