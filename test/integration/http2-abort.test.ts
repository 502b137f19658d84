import { once } from "node:events";
import { constants, createSecureServer, type Http2SecureServer, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load-config.js";
import { selfSignedCertificate } from "../../src/demo/self-signed-certificate.js";
import { UpstreamPools } from "../../src/upstream/upstream-pools.js";

/**
 * An aborted HTTP/2 request is reset with CANCEL. undici resets with NO_ERROR and destroys the
 * stream at once, which made Node's session spin in SendPendingData and froze the gateway
 * (`bench/repro/undici-h2-abort-spin.ts`); see src/upstream/http2-cancel-on-abort.ts.
 */
describe("aborting an HTTP/2 upstream request", () => {
  let server: Http2SecureServer;
  let origin: string;
  let ca: string;
  const closed: number[] = [];
  const answering: ServerHttp2Stream[] = [];

  beforeAll(async () => {
    const { cert, key } = await selfSignedCertificate();
    ca = cert;
    server = createSecureServer({ cert, key });
    server.on("stream", (stream) => {
      stream.on("error", () => {});
      stream.on("close", () => closed.push(stream.rstCode));
      stream.resume();
      stream.on("end", () => {
        if (stream.destroyed) return;
        // A slow answer that is still being written when the caller gives up.
        stream.respond({ ":status": 200, "content-type": "text/event-stream" });
        stream.write("data: {}\n\n");
        answering.push(stream);
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    for (const stream of answering) stream.destroy();
    server.close();
  });

  it("resets the upstream stream with CANCEL, not NO_ERROR, and the pool serves on", async () => {
    const pools = new UpstreamPools(parseConfig({}).pool);
    pools.register(origin, { ca, pool: { warm_up: false } });
    try {
      const aborts = Array.from({ length: 8 }, async () => {
        const controller = new AbortController();
        const response = await pools.request(origin, {
          method: "POST",
          path: "/v1/chat/completions",
          headers: { "content-type": "application/json" },
          body: '{"stream":true}',
          signal: controller.signal,
        });
        const reading = response.body.text().catch(() => "aborted");
        controller.abort();
        expect(await reading).toBe("aborted");
      });
      await Promise.all(aborts);
      await expect.poll(() => closed.length).toBe(8);
      expect(closed).toEqual(Array(8).fill(constants.NGHTTP2_CANCEL));
      expect(pools.snapshot().totals.inFlight).toBe(0);
    } finally {
      await pools.close();
    }
  });
});
