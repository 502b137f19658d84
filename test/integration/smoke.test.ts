import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, expect, test } from "vitest";
import { GatewayService, GenerateRequestSchema } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { startTestGateway, type TestGateway } from "../support/test-gateway.js";

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.close());

test("Generate over gRPC returns demo text and says who served it", async () => {
  const client = createClient(GatewayService, createGrpcTransport({ baseUrl: gw.url }));
  const res = await client.generate(
    create(GenerateRequestSchema, { model: "demo", messages: [{ role: "user", content: "hello" }] }),
  );
  expect(res.text.length).toBeGreaterThan(0);
  expect(res.upstream?.provider).toBe("demo");
  expect(res.upstream?.origin).toBe(gw.demo.origin);
  expect(res.upstream?.protocol).toBe("h2");
  // Warm-up opened the connection, so even the first request reuses it.
  expect(res.upstream?.connectionReused).toBe(true);
  // Milliseconds to the microsecond, not performance.now()'s noise past it.
  expect(String(res.upstream?.upstreamLatencyMs)).toMatch(/^\d+(\.\d{1,3})?$/);
  expect(gw.demo.counts.connectionsAccepted).toBe(1);
  expect(gw.demo.counts.requestsServed).toBe(gw.gateway.pools.snapshot().totals.requestsTotal);
});
