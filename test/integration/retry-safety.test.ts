import { once } from "node:events";
import { constants, createSecureServer, type Http2SecureServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { Code } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load-config.js";
import { selfSignedCertificate } from "../../src/demo/self-signed-certificate.js";
import { GatewayError } from "../../src/errors/gateway-error.js";
import { isRetryable } from "../../src/router/retry-policy.js";
import { UpstreamPools } from "../../src/upstream/upstream-pools.js";
import {
  chatRequests,
  errorOf,
  generateRequest,
  type RouterGateway,
  startRouterGateway,
  streamRequest,
} from "../support/router-gateway.js";

/**
 * Issue 11: a request the upstream answered is never sent twice. Two deployments serve the model,
 * so a retry would have somewhere to go; the fakes count what arrived.
 */
describe("a request is resent only when the upstream had not answered it", () => {
  let g: RouterGateway<"a" | "b">;
  const sent = () => chatRequests(g.fakes.a).length + chatRequests(g.fakes.b).length;

  beforeAll(async () => {
    g = await startRouterGateway({
      providers: ["a", "b"],
      models: {
        chat: {
          deployments: [
            { provider: "a", model: "m" },
            { provider: "b", model: "m" },
          ],
        },
      },
      // No cooldown between cases: each case starts from two healthy deployments.
      router: { retry_backoff: "1ms", max_retry_backoff: "5ms", allowed_failures: 1000 },
    });
  });
  afterAll(async () => {
    await g?.close();
  });
  afterEach(() => {
    for (const fake of Object.values(g.fakes)) {
      fake.respondAlways(undefined);
      fake.requests.length = 0;
    }
  });

  // The first piece goes out 20 ms before the break, so the 200's headers have surely arrived.
  const answeredThenBroken = [
    {
      what: "its connection is cut after 10 bytes of body",
      fault: { chunkBytes: 10, eventDelayMs: 20, resetAfterEvents: 2 },
    },
    {
      what: "its stream is reset after 10 bytes of body",
      fault: { chunkBytes: 10, eventDelayMs: 20, resetAfterEvents: 2, resetMode: "stream" as const },
    },
  ];

  it.each(answeredThenBroken)(
    "a unary call whose upstream answered and then $what is not resent",
    async ({ fault }) => {
      for (const fake of Object.values(g.fakes)) fake.respondAlways({ kind: "json", ...fault });
      const error = await errorOf(g.client.generate(generateRequest("chat"), { timeoutMs: 5_000 }));
      expect(error.code).toBe(Code.Unavailable);
      expect(error.rawMessage).toContain("had begun its answer");
      expect(sent()).toBe(1);
    },
  );

  it("a stream reset after its first event (the role, no text yet) is not resent", async () => {
    for (const fake of Object.values(g.fakes)) {
      fake.respondAlways({ kind: "stream", eventDelayMs: 20, resetAfterEvents: 1, resetMode: "stream" });
    }
    const error = await errorOf(
      (async () => {
        for await (const _ of g.client.generateStream(streamRequest("chat"), { timeoutMs: 5_000 })) {
          // read to the end
        }
      })(),
    );
    expect(error.code).toBe(Code.Unavailable);
    expect(sent()).toBe(1);
  });

  it("a unary call whose connection is cut after the request arrived, before any answer, is not resent", async () => {
    // The upstream may be generating it: for a unary call the headers come only when it is done.
    for (const fake of Object.values(g.fakes)) fake.respondAlways({ kind: "reset" });
    const error = await errorOf(g.client.generate(generateRequest("chat"), { timeoutMs: 5_000 }));
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).toContain("after the request reached");
    expect(sent()).toBe(1);
  });
});

describe("a request that never reached an upstream is sent to another", () => {
  let g: RouterGateway<"gone" | "spare">;

  beforeAll(async () => {
    g = await startRouterGateway({
      providers: ["gone", "spare"],
      // The heavier one is picked first.
      models: {
        chat: {
          deployments: [
            { provider: "gone", model: "m", weight: 2 },
            { provider: "spare", model: "m", weight: 1 },
          ],
        },
      },
      router: { retry_backoff: "1ms", max_retry_backoff: "5ms" },
    });
    await g.fakes.gone.close();
  });
  afterAll(async () => {
    await g?.close();
  });

  it("a connection refused is retried on the other deployment, and served", async () => {
    const reply = await g.client.generate(generateRequest("chat"), { timeoutMs: 5_000 });
    expect(reply.text).not.toBe("");
    expect(reply.upstream).toMatchObject({ provider: "spare", attempts: 2 });
    expect(chatRequests(g.fakes.spare).length).toBe(1);
  });
});

describe("REFUSED_STREAM", () => {
  let server: Http2SecureServer;
  let origin: string;
  let ca: string;
  let streams = 0;

  beforeAll(async () => {
    const { cert, key } = await selfSignedCertificate();
    ca = cert;
    server = createSecureServer({ cert, key });
    server.on("stream", (stream) => {
      streams++;
      stream.on("error", () => {});
      stream.close(constants.NGHTTP2_REFUSED_STREAM);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.close();
  });

  it("is retryable and not delivered: the upstream processed nothing (undici replays it once itself first)", async () => {
    const pools = new UpstreamPools(parseConfig({}).pool);
    pools.register(origin, { ca, pool: { warm_up: false } });
    try {
      const error = await pools
        .request(origin, { method: "POST", path: "/v1/chat/completions", headers: {}, body: "{}" })
        .then(
          () => expect.fail("the refused request succeeded"),
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(GatewayError);
      expect(error).toMatchObject({ reason: "UPSTREAM_REFUSED_STREAM", retryable: true, delivered: false });
      expect((error as GatewayError).message).toContain("refused the stream (REFUSED_STREAM)");
      expect(isRetryable(error)).toBe(true);
      expect(streams).toBe(2);
      // Both attempts were counted as sent, and both as over.
      expect(pools.snapshot().totals).toMatchObject({ requestsTotal: 2, inFlight: 0 });
    } finally {
      await pools.close();
    }
  });
});
