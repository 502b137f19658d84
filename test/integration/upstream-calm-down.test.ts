import { once } from "node:events";
import { constants, createSecureServer, type Http2SecureServer, type Http2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load-config.js";
import { selfSignedCertificate } from "../../src/demo/self-signed-certificate.js";
import { UpstreamPools } from "../../src/upstream/upstream-pools.js";
import { startProviderGateway } from "../support/provider-gateway.js";

/**
 * A Node HTTP/2 server past its rejected-stream limit resets every new stream on that connection
 * with ENHANCE_YOUR_CALM, and the session lives on: found by the chaos run at seed 888277793, where
 * every later request to that upstream failed. The pool now closes such a connection.
 */
const COMPLETION = {
  id: "chatcmpl-calm",
  object: "chat.completion",
  choices: [{ index: 0, message: { role: "assistant", content: "calm again" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
};
let server: Http2SecureServer;
let origin: string;
let ca: string;
const sessions: Http2Session[] = [];

beforeAll(async () => {
  const { cert, key } = await selfSignedCertificate();
  ca = cert;
  server = createSecureServer({ cert, key });
  server.on("session", (session) => sessions.push(session));
  server.on("stream", (stream) => {
    stream.on("error", () => {});
    // The first connection has had enough; later ones answer.
    if (stream.session === sessions[0]) {
      stream.close(constants.NGHTTP2_ENHANCE_YOUR_CALM);
      return;
    }
    stream.resume();
    stream.on("end", () => {
      stream.respond({ ":status": 200, "content-type": "application/json" });
      stream.end(JSON.stringify(COMPLETION));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  for (const session of sessions) session.destroy();
  server.close();
});
beforeEach(() => {
  for (const session of sessions.splice(0)) session.destroy();
});

it("a connection whose streams are reset with ENHANCE_YOUR_CALM is closed, and the next request gets a fresh one", async () => {
  const pools = new UpstreamPools(parseConfig({}).pool);
  pools.register(origin, { ca, pool: { warm_up: false, max_connections: 1 } });
  const post = () =>
    pools.request(origin, {
      method: "POST",
      path: "/v1/chat/completions",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
  try {
    await expect(post()).rejects.toMatchObject({
      cause: { http2ErrorCode: constants.NGHTTP2_ENHANCE_YOUR_CALM },
    });
    const response = await post();
    expect(response.statusCode).toBe(200);
    await response.body.text();
    expect(sessions).toHaveLength(2);
    expect(pools.snapshot().totals.connectionsCreatedTotal).toBe(2);
  } finally {
    await pools.close();
  }
});

// Node's server sends this reset from nghttp2's OnBeginHeaders when it will not open the stream (a
// session over its memory limit: the chaos run at seed 908111827, after a cancelled 10 MB event), so
// the request was processed by no one: the router sends it again, on the fresh connection.
it("a call whose stream is refused with ENHANCE_YOUR_CALM is sent again on a fresh connection and served", async () => {
  const gw = await startProviderGateway({
    providers: {
      calm: {
        type: "openai",
        upstream: { origin, ca },
        settings: { pool: { warm_up: false, max_connections: 1 } },
      },
    },
  });
  try {
    const reply = await gw.client.generate({ model: "calm/m", messages: [{ role: "user", content: "hi" }] });
    expect(reply.text).toBe("calm again");
    expect(reply.upstream?.attempts).toBe(2);
    expect(sessions).toHaveLength(2);
  } finally {
    await gw.close();
  }
});
