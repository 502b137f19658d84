import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayService } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { keyHash, newCallerKey } from "../../src/access/caller-keys.js";
import { parseConfig } from "../../src/config/load-config.js";
import { errorOf } from "../support/error-of.js";
import { type FakeOpenAI, startFakeOpenAI } from "../support/fakes/index.js";
import { createGrpcJsGatewayClient, type GrpcJsGatewayClient } from "../support/grpc-js-client.js";
import { type ProviderGateway, startProviderGateway } from "../support/provider-gateway.js";

// Keys, model access, quotas, usage and cost through a real gateway, every API, a fake OpenAI.
const UPSTREAM_KEY = "sk-upstream-caller-keys";
const KEYS = {
  search: newCallerKey(),
  ops: newCallerKey(),
  limited: newCallerKey(),
  expired: newCallerKey(),
};
/** USD per million tokens of the "priced" model's deployment. */
const PRICE = { input: 2, output: 4, cached_input: 1 };

let fake: FakeOpenAI;
let gw: ProviderGateway;
let grpc: GrpcJsGatewayClient;

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKey: UPSTREAM_KEY });
  gw = await startProviderGateway({
    providers: { openai: { type: "openai", upstream: fake, apiKey: UPSTREAM_KEY } },
    models: {
      chat: { aliases: ["chat-alias"], deployments: [{ provider: "openai", model: "gpt-4o-mini" }] },
      priced: { deployments: [{ provider: "openai", model: "house-model", price: PRICE }] },
      unpriced: { deployments: [{ provider: "openai", model: "house-model" }] },
    },
    keys: [
      { name: "search-team", sha256: keyHash(KEYS.search), models: ["chat*", "priced", "unpriced"] },
      { name: "ops", sha256: keyHash(KEYS.ops), roles: ["admin"] },
      { name: "limited", sha256: keyHash(KEYS.limited), limits: { requests_per_minute: 2 } },
      { name: "expired", sha256: keyHash(KEYS.expired), expires: "2020-01-01" },
    ],
  });
  grpc = createGrpcJsGatewayClient(gw.url);
});

afterAll(async () => {
  grpc?.close();
  await gw?.close();
  await fake?.close();
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const request = (model: string) => ({
  model,
  messages: [{ role: "user" as const, content: "How many keys?" }],
});
const openai = (apiKey: string) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey, maxRetries: 0 });

describe("without a valid key", () => {
  it("refuses a call with no key (or a wrong one) UNAUTHENTICATED on gRPC, Connect and the OpenAI API (401), and sends nothing upstream", async () => {
    const before = fake.requestCount;
    const grpcError = await rejection(grpc.unary("generate", request("chat")));
    expect(grpcError).toMatchObject({ code: 16, details: expect.stringContaining("a key is required") });
    const connectError = await errorOf(gw.client.generate(request("chat")));
    expect(connectError.code).toBe(Code.Unauthenticated);
    // The OpenAI SDKs always send a key: a request without one is plain HTTP.
    const response = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(request("chat")),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({
      error: { type: "authentication_error", code: "key_missing" },
    });
    const sdkError = await rejection(openai("not-a-key").chat.completions.create(request("chat")));
    expect(sdkError).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(fake.requestCount).toBe(before);
  });

  it("refuses an unknown key and an expired one, and never says what was presented", async () => {
    const wrong = `${KEYS.search}x`;
    const unknown = await errorOf(gw.client.generate(request("chat"), { headers: bearer(wrong) }));
    expect(unknown.code).toBe(Code.Unauthenticated);
    expect(unknown.metadata.get("weaver-error-reason")).toBe("KEY_INVALID");
    expect(unknown.rawMessage).not.toContain(wrong);
    const expired = await errorOf(gw.client.generate(request("chat"), { headers: bearer(KEYS.expired) }));
    expect(expired).toMatchObject({
      code: Code.Unauthenticated,
      rawMessage: expect.stringContaining("expired"),
    });
    expect(expired.rawMessage).not.toContain(KEYS.expired);
  });
});

describe("with a key", () => {
  it("serves the key's models by name or alias, over gRPC, gRPC-Web, Connect and the OpenAI API (Bearer and x-api-key)", async () => {
    const reply = await grpc.unary("generate", request("chat-alias"), bearer(KEYS.search));
    expect(reply).toMatchObject({ model: "chat", text: expect.any(String) });
    for (const transport of [
      createGrpcWebTransport({ baseUrl: gw.url, httpVersion: "1.1" }),
      createConnectTransport({ baseUrl: gw.url, httpVersion: "1.1" }),
    ]) {
      const client = createClient(GatewayService, transport);
      expect((await errorOf(client.generate(request("chat")))).code).toBe(Code.Unauthenticated);
      const served = await client.generate(request("chat"), { headers: { "x-api-key": KEYS.search } });
      expect(served.text.length).toBeGreaterThan(0);
    }
    const completion = await openai(KEYS.search).chat.completions.create(request("chat"));
    expect(completion.choices[0]?.message.content).toBeTruthy();
    const response = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": KEYS.search },
      body: JSON.stringify(request("chat")),
    });
    expect(response.status).toBe(200);
  });

  it("refuses a model the key may not call PERMISSION_DENIED (403), before finding out whether it exists", async () => {
    const before = fake.requestCount;
    for (const model of ["openai/gpt-4o", "no-such-model"]) {
      const error = await errorOf(gw.client.generate(request(model), { headers: bearer(KEYS.search) }));
      expect(error).toMatchObject({
        code: Code.PermissionDenied,
        rawMessage: expect.stringContaining("search-team"),
      });
    }
    const sdkError = await rejection(openai(KEYS.search).chat.completions.create(request("openai/gpt-4o")));
    expect(sdkError).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(fake.requestCount).toBe(before);
    // A key with no model list may call anything configured, and learns of unknown models.
    const unknown = await errorOf(
      gw.client.generate(request("no-such-model"), { headers: bearer(KEYS.ops) }),
    );
    expect(unknown.code).toBe(Code.NotFound);
  });

  it("tells the caller where its key stands, and refuses the call past its requests per minute RESOURCE_EXHAUSTED with retry-after", async () => {
    await awayFromMinuteEnd();
    for (let call = 1; call <= 2; call++) {
      const headers = new Headers();
      await gw.client.generate(request("chat"), {
        headers: bearer(KEYS.limited),
        onHeader: (received) => {
          for (const [name, value] of received) headers.set(name, value);
        },
      });
      expect(headers.get("x-ratelimit-limit-requests")).toBe("2");
      expect(headers.get("x-ratelimit-remaining-requests")).toBe(String(2 - call));
    }
    const before = fake.requestCount;
    const refused = await errorOf(gw.client.generate(request("chat"), { headers: bearer(KEYS.limited) }));
    expect(refused.code).toBe(Code.ResourceExhausted);
    expect(refused.metadata.get("weaver-error-reason")).toBe("KEY_REQUESTS_PER_MINUTE");
    expect(Number(refused.metadata.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(refused.metadata.get("retry-after"))).toBeLessThanOrEqual(60);
    const response = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer(KEYS.limited) },
      body: JSON.stringify(request("chat")),
    });
    expect(response.status).toBe(429);
    expect(response.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(response.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(fake.requestCount).toBe(before);
  });
});

describe("usage and cost", () => {
  it("prices every answer at its deployment's price, and GetUsage adds up what the provider reported", async () => {
    await awayFromMinuteEnd();
    fake.respondWith({ kind: "answer", cachedTokens: 3 });
    const unary = await gw.client.generate(request("priced"), { headers: bearer(KEYS.search) });
    const usage = unary.usage;
    if (usage === undefined) throw new Error("no usage");
    const expected =
      ((usage.inputTokens - 3) * PRICE.input + 3 * PRICE.cached_input + usage.outputTokens * PRICE.output) /
      1e6;
    expect(usage.costUsd).toBeCloseTo(expected, 12);
    let streamed = 0;
    for await (const event of gw.client.generateStream(request("priced"), { headers: bearer(KEYS.search) }))
      if (event.event.case === "finish") streamed = event.event.value.usage?.costUsd ?? 0;
    expect(streamed).toBeGreaterThan(0);
    const completion = await openai(KEYS.search).chat.completions.create(request("unpriced"));
    expect((completion.usage as unknown as { cost_usd: number }).cost_usd).toBe(0);

    const { rows } = await gw.client.getUsage({ keys: ["search-team"] }, { headers: bearer(KEYS.ops) });
    const priced = rows.find((row) => row.model === "priced");
    expect(priced).toMatchObject({
      key: "search-team",
      requests: 2n,
      cachedInputTokens: 3n,
      unpricedRequests: 0n,
    });
    expect(priced?.costUsd).toBeCloseTo(expected + streamed, 9);
    expect(rows.find((row) => row.model === "unpriced")).toMatchObject({
      requests: 1n,
      costUsd: 0,
      unpricedRequests: 1n,
    });
    const today = new Date().toISOString().slice(0, 10);
    expect(rows.every((row) => row.day === today)).toBe(true);
  });

  it("counts a stream cut short by an estimate, marked as one", async () => {
    fake.respondWith({ kind: "answer", eventDelayMs: 200 });
    const abort = new AbortController();
    const stream = gw.client.generateStream(request("unpriced"), {
      headers: bearer(KEYS.search),
      signal: abort.signal,
    });
    await errorOf(
      (async () => {
        for await (const event of stream) if (event.event.case === "delta") abort.abort();
      })(),
    );
    await expect
      .poll(async () => {
        const { rows } = await gw.client.getUsage({}, { headers: bearer(KEYS.search) });
        return rows.find((row) => row.model === "unpriced")?.estimatedRequests;
      })
      .toBe(1n);
  });

  it("shows a key its own usage only; an admin key reads everyone's", async () => {
    const own = await gw.client.getUsage({}, { headers: bearer(KEYS.search) });
    expect(new Set(own.rows.map((row) => row.key))).toEqual(new Set(["search-team"]));
    const other = await errorOf(gw.client.getUsage({ keys: ["limited"] }, { headers: bearer(KEYS.search) }));
    expect(other.code).toBe(Code.PermissionDenied);
    const all = await gw.client.getUsage({}, { headers: bearer(KEYS.ops) });
    expect(new Set(all.rows.map((row) => row.key))).toEqual(new Set(["search-team", "limited"]));
    const bad = await errorOf(gw.client.getUsage({ fromDay: "yesterday" }, { headers: bearer(KEYS.ops) }));
    expect(bad.code).toBe(Code.InvalidArgument);
  });

  it("exports the cost per key name and model, and never a key, in a log line or a metric", async () => {
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/weaver_cost_usd_total\{key="search-team",model="priced"\} [0-9.e-]+/);
    expect(metrics).toContain('weaver_quota_refusals_total{key="limited",limit="requests"}');
    const logs = gw.logLines.join("\n");
    expect(logs).toContain('"key":"search-team"');
    for (const key of [...Object.values(KEYS), `${KEYS.search}x`]) {
      expect(logs).not.toContain(key);
      expect(metrics).not.toContain(key);
    }
  });
});

describe("a reload", () => {
  it("takes new keys at once and drops removed ones, quotas and usage kept", async () => {
    const added = newCallerKey();
    const keys = parseConfig({
      keys: [
        { name: "ops", sha256: keyHash(KEYS.ops), roles: ["admin"] },
        { name: "newcomer", sha256: keyHash(added) },
      ],
    }).keys;
    const report = await gw.gateway.reload({ ...gw.gateway.config, keys });
    expect(report.needsRestart).toEqual([]);
    const reply = await gw.client.generate(request("chat"), { headers: bearer(added) });
    expect(reply.text.length).toBeGreaterThan(0);
    const dropped = await errorOf(gw.client.generate(request("chat"), { headers: bearer(KEYS.search) }));
    expect(dropped.metadata.get("weaver-error-reason")).toBe("KEY_INVALID");
    const { rows } = await gw.client.getUsage({}, { headers: bearer(KEYS.ops) });
    expect(new Set(rows.map((row) => row.key))).toEqual(new Set(["search-team", "limited", "newcomer"]));
  });
});

/** What a call was rejected with, as it came (grpc-js's and the OpenAI SDK's own errors). */
async function rejection(work: Promise<unknown>): Promise<unknown> {
  try {
    await work;
  } catch (error) {
    return error;
  }
  throw new Error("the call succeeded, but it was expected to fail");
}

/** Quotas count per calendar minute: a test that counts calls starts well inside one. */
async function awayFromMinuteEnd(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 8_000) await new Promise((resolve) => setTimeout(resolve, left + 100));
}
