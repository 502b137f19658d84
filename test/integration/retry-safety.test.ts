import { once } from "node:events";
import { constants, createSecureServer, type ServerHttp2Stream } from "node:http2";
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

/**
 * A real HTTP/2 server that meets every stream with `meet`; counts the streams it saw. The pools
 * send to it as they send to a provider.
 */
async function startH2Server(meet: (stream: ServerHttp2Stream) => void) {
  const { cert, key } = await selfSignedCertificate();
  const server = createSecureServer({ cert, key });
  const seen = { streams: 0 };
  server.on("session", (session) => session.on("error", () => {}));
  server.on("stream", (stream) => {
    seen.streams++;
    stream.on("error", () => {});
    meet(stream);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pools = new UpstreamPools(parseConfig({}).pool);
  pools.register(origin, { ca: cert, pool: { warm_up: false } });
  const failure = () =>
    pools.request(origin, { method: "POST", path: "/v1/chat/completions", headers: {}, body: "{}" }).then(
      () => expect.fail("the request succeeded"),
      (e: unknown) => e as GatewayError,
    );
  const close = async () => {
    await pools.close();
    server.close();
  };
  return { seen, pools, failure, close };
}

describe("what HTTP/2 says was not processed", () => {
  it("REFUSED_STREAM is retryable and not delivered (undici replays it once itself first)", async () => {
    const h2 = await startH2Server((stream) => stream.close(constants.NGHTTP2_REFUSED_STREAM));
    try {
      const error = await h2.failure();
      expect(error).toBeInstanceOf(GatewayError);
      expect(error).toMatchObject({ reason: "UPSTREAM_REFUSED_STREAM", retryable: true, delivered: false });
      expect(error.message).toContain("refused the stream (REFUSED_STREAM)");
      expect(isRetryable(error)).toBe(true);
      expect(h2.seen.streams).toBe(2);
      // Both attempts were counted as sent, and both as over.
      expect(h2.pools.snapshot().totals).toMatchObject({ requestsTotal: 2, inFlight: 0 });
    } finally {
      await h2.close();
    }
  });

  it("a GOAWAY below the stream is retryable and not delivered: the server processed none of it", async () => {
    // As a server going away does: the last stream it acts on is 0, and this one is refused.
    const h2 = await startH2Server((stream) => {
      stream.session?.goaway(constants.NGHTTP2_NO_ERROR, 0);
      stream.close(constants.NGHTTP2_REFUSED_STREAM);
    });
    try {
      const error = await h2.failure();
      // Which of the two undici reports depends on which frame it reads first; both say "unprocessed".
      expect(["UPSTREAM_GOAWAY", "UPSTREAM_REFUSED_STREAM"]).toContain(error.reason);
      expect(error).toMatchObject({ retryable: true, delivered: false });
      expect(isRetryable(error)).toBe(true);
      expect(h2.pools.snapshot().totals.inFlight).toBe(0);
    } finally {
      await h2.close();
    }
  });

  it("a GOAWAY that names the stream as processed, then the connection's end, is delivered: never resent", async () => {
    const h2 = await startH2Server((stream) => {
      const session = stream.session;
      session?.goaway(constants.NGHTTP2_NO_ERROR, stream.id ?? 0);
      setTimeout(() => session?.destroy(), 50);
    });
    try {
      const error = await h2.failure();
      expect(error).toMatchObject({ delivered: true });
      expect(error.message).toContain("after the request reached");
      expect(isRetryable(error)).toBe(false);
      expect(h2.seen.streams).toBe(1);
      expect(h2.pools.snapshot().totals.inFlight).toBe(0);
    } finally {
      await h2.close();
    }
  });
});
