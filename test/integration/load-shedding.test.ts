import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import type { Metadata, ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { GatewayService } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { errorOf } from "../support/error-of.js";
import { createGrpcJsGatewayClient, type GrpcJsGatewayClient } from "../support/grpc-js-client.js";
import {
  collectStream,
  type GatewayClient,
  gatewayClient,
  generateRequest,
  streamRequest,
} from "../support/provider-gateway.js";
import { startTestGateway, type TestGateway } from "../support/test-gateway.js";

const MAX_IN_FLIGHT = 4;
const HELLO = { model: "demo", messages: [{ role: "user", content: "hi" }] };

let gw: TestGateway;
let connect: GatewayClient;
let grpc: GrpcJsGatewayClient;
beforeAll(async () => {
  gw = await startTestGateway({
    // Slow tokens, so the streams that fill the gateway stay in flight while the test knocks.
    demo: { inter_token_delay: "30ms" },
    // Well above what a busy test machine's scheduling alone adds to a window (seen: 170 ms).
    server: { max_in_flight: MAX_IN_FLIGHT, max_event_loop_delay: "300ms" },
  });
  connect = gatewayClient(gw.url);
  grpc = createGrpcJsGatewayClient(gw.url);
});
afterAll(async () => {
  grpc.close();
  await gw.close();
});

async function grpcFailure(work: Promise<unknown>): Promise<ServiceError> {
  return work.then(
    () => {
      throw new Error("the call succeeded");
    },
    (error: ServiceError) => error,
  );
}

const header = (metadata: Metadata, key: string) => String(metadata.get(key)[0]);

async function readyz(): Promise<{ status: number; text: string }> {
  const response = await fetch(`${gw.url}/readyz`);
  return { status: response.status, text: await response.text() };
}

/** Fills the gateway: MAX_IN_FLIGHT streams, each past its first token; resolves them when read to the end. */
async function fill(): Promise<Promise<unknown>[]> {
  const started: Promise<void>[] = [];
  const done = Array.from({ length: MAX_IN_FLIGHT }, () => {
    let onFirst: () => void = () => {};
    started.push(new Promise<void>((resolve) => (onFirst = resolve)));
    return collectStream(connect.generateStream(streamRequest({ model: "demo", maxTokens: 40 })), (n) => {
      if (n === 1) onFirst();
    });
  });
  await Promise.all(started);
  return done;
}

describe("server.max_in_flight", () => {
  test("past the limit every API refuses at once with RESOURCE_EXHAUSTED / 429 and retry-after, /readyz says why, and the admitted calls complete", async () => {
    const admitted = await fill();

    const refusals = await Promise.all(
      Array.from({ length: 20 }, () => grpcFailure(grpc.unary("generate", HELLO))),
    );
    for (const refusal of refusals) {
      expect(refusal.code).toBe(8); // RESOURCE_EXHAUSTED
      expect(refusal.details).toContain("server.max_in_flight");
      expect(header(refusal.metadata, "retry-after")).toBe("1");
      expect(header(refusal.metadata, "weaver-error-reason")).toBe("GATEWAY_OVERLOADED");
    }

    const openai = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(HELLO),
    });
    expect(openai.status).toBe(429);
    expect(openai.headers.get("retry-after")).toBe("1");
    expect(((await openai.json()) as { error: { message: string } }).error.message).toContain("overloaded");

    await expect(connect.generate(generateRequest({ model: "demo" }))).rejects.toMatchObject({ code: 8 });
    for (const transport of [
      createConnectTransport({ baseUrl: gw.url, httpVersion: "1.1" }),
      createGrpcWebTransport({ baseUrl: gw.url, httpVersion: "1.1" }),
      createGrpcWebTransport({ baseUrl: gw.url, httpVersion: "2" }),
    ]) {
      const refusal = await errorOf(
        createClient(GatewayService, transport).generate(generateRequest({ model: "demo" })),
      );
      expect(refusal.code).toBe(Code.ResourceExhausted);
      expect(refusal.metadata.get("retry-after")).toBe("1");
    }

    const overloaded = await readyz();
    expect(overloaded.status).toBe(503);
    expect(overloaded.text).toContain("server.max_in_flight");

    for (const stream of await Promise.all(admitted))
      expect(stream).toMatchObject({ finish: expect.anything() });
    expect((await connect.generate(generateRequest({ model: "demo" }))).text).not.toBe("");
    expect(await readyz()).toEqual({ status: 200, text: "ready\n" });

    const refusedLines = gw.logs.filter((line) => line.msg === "rpc" && line.code === "resource_exhausted");
    expect(refusedLines.length).toBeGreaterThanOrEqual(22);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(
      /weaver_rpc_requests_total\{method="Generate",protocol="grpc",code="resource_exhausted"\} 21/,
    );
    expect(metrics).toMatch(
      /weaver_rpc_requests_total\{method="ChatCompletions",protocol="openai",code="resource_exhausted"\} 1/,
    );
    expect(metrics).toMatch(/^weaver_calls_in_flight 0$/m);
  });

  test("infrastructure calls (health, PoolStats, ListModels) are not counted against the limit", async () => {
    const admitted = await fill();
    expect((await connect.listModels({})).models.length).toBeGreaterThan(0);
    expect((await connect.poolStats({})).totals).toBeDefined();
    await Promise.all(admitted);
  });
});

describe("server.max_event_loop_delay", () => {
  test("one long pause (a GC, one big parse) sheds nothing", async () => {
    const stall = performance.now() + 700;
    while (performance.now() < stall) {}
    for (let i = 0; i < 10; i++) {
      expect(await grpc.unary("generate", HELLO)).toMatchObject({ model: "demo" });
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
  });

  test("an event loop that lags window after window sheds new calls until it recovers", async () => {
    // A saturated process: stalls of 450 ms, turn after turn, for a second and a half (two windows
    // of the delay check and more; one stall alone, a GC pause, is let pass).
    const until = performance.now() + 1_500;
    while (performance.now() < until) {
      const stall = performance.now() + 450;
      while (performance.now() < stall) {}
      await new Promise((resolve) => setImmediate(resolve));
    }
    const refusal = await grpcFailure(grpc.unary("generate", HELLO));
    expect(refusal.code).toBe(8);
    expect(refusal.details).toContain("server.max_event_loop_delay");
    expect((await readyz()).text).toContain("event-loop delay");
    // One quiet window later, it serves again.
    await expect.poll(async () => (await readyz()).status, { timeout: 5_000, interval: 100 }).toBe(200);
    expect(await grpc.unary("generate", HELLO)).toMatchObject({ model: "demo" });
  });
});
