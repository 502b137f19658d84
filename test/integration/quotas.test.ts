import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { GatewayService } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { keyHash, newCallerKey } from "../../src/access/caller-keys.js";
import { errorOf } from "../support/error-of.js";
import { startTestGateway, type TestGateway } from "../support/test-gateway.js";

// Each kind of quota through a real gateway and its demo upstream (24 output tokens an answer,
// a token every 20 ms), in the in-process store.
const KEYS = { concurrent: newCallerKey(), tokens: newCallerKey(), budget: newCallerKey() };
const PRICE = { input: 100, output: 100 };
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const call = { model: "demo", messages: [{ role: "user", content: "quota" }] };
let gw: TestGateway;
let client: ReturnType<typeof createClient<typeof GatewayService>>;

beforeAll(async () => {
  gw = await startTestGateway({
    demo: { inter_token_delay: "20ms" },
    price: PRICE,
    keys: [
      { name: "concurrent", sha256: keyHash(KEYS.concurrent), limits: { concurrent: 2 } },
      { name: "tokens", sha256: keyHash(KEYS.tokens), limits: { tokens_per_minute: 30 } },
      // One answer (about 25 tokens at $100 per million) spends it.
      { name: "budget", sha256: keyHash(KEYS.budget), limits: { budget_usd: { amount: 0.001, per: "day" } } },
    ],
  });
  client = createClient(GatewayService, createGrpcTransport({ baseUrl: gw.url }));
});
afterAll(async () => {
  await gw?.close();
});

it("refuses a third concurrent call KEY_CONCURRENT_LIMIT, and frees a slot when a call ends or is cancelled", async () => {
  const abort = new AbortController();
  // Streams take a token every 20 ms; the demo's unary answer comes at once.
  const running = [
    drain(client.generateStream(call, { headers: bearer(KEYS.concurrent) })),
    drain(client.generateStream(call, { headers: bearer(KEYS.concurrent), signal: abort.signal })),
  ];
  await new Promise((resolve) => setTimeout(resolve, 100));
  const refused = await errorOf(client.generate(call, { headers: bearer(KEYS.concurrent) }));
  expect(refused.code).toBe(Code.ResourceExhausted);
  expect(refused.metadata.get("weaver-error-reason")).toBe("KEY_CONCURRENT_LIMIT");
  expect(refused.metadata.get("x-ratelimit-remaining-concurrent")).toBe("0");
  abort.abort();
  await Promise.allSettled(running);
  const headers = new Headers();
  await client.generate(call, {
    headers: bearer(KEYS.concurrent),
    onHeader: (received) => {
      for (const [name, value] of received) headers.set(name, value);
    },
  });
  expect(headers.get("x-ratelimit-remaining-concurrent")).toBe("1");
});

it("lets calls in while the minute has tokens left, counted from the provider's usage, then KEY_TOKENS_PER_MINUTE", async () => {
  await awayFromMinuteEnd();
  const first = await client.generate(call, { headers: bearer(KEYS.tokens) });
  const used = (first.usage?.inputTokens ?? 0) + (first.usage?.outputTokens ?? 0);
  expect(used).toBeGreaterThan(0);
  expect(used).toBeLessThan(30);
  await client.generate(call, { headers: bearer(KEYS.tokens) });
  const refused = await errorOf(client.generate(call, { headers: bearer(KEYS.tokens) }));
  expect(refused.code).toBe(Code.ResourceExhausted);
  expect(refused.metadata.get("weaver-error-reason")).toBe("KEY_TOKENS_PER_MINUTE");
  expect(refused.metadata.get("x-ratelimit-remaining-tokens")).toBe("0");
});

it("refuses a key that spent its daily budget KEY_BUDGET until the UTC day ends", async () => {
  const reply = await client.generate(call, { headers: bearer(KEYS.budget) });
  expect(reply.usage?.costUsd).toBeGreaterThan(0.001);
  const refused = await errorOf(client.generate(call, { headers: bearer(KEYS.budget) }));
  expect(refused.code).toBe(Code.ResourceExhausted);
  expect(refused.metadata.get("weaver-error-reason")).toBe("KEY_BUDGET");
  const now = Date.now();
  const dayEnd = Date.UTC(
    new Date(now).getUTCFullYear(),
    new Date(now).getUTCMonth(),
    new Date(now).getUTCDate() + 1,
  );
  expect(Number(refused.metadata.get("retry-after"))).toBeCloseTo((dayEnd - now) / 1000, -1);
  expect(refused.metadata.get("x-ratelimit-remaining-budget-usd")).toBe("0.000000");
});

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream);
}

async function awayFromMinuteEnd(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 8_000) await new Promise((resolve) => setTimeout(resolve, left + 100));
}
