import { once } from "node:events";
import { connect } from "node:http2";
import type { AddressInfo } from "node:net";
import { createServer as createTlsServer, connect as tlsConnect } from "node:tls";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { GatewayService } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { DemoUpstream } from "../../src/demo/demo-upstream.js";
import { selfSignedCertificate } from "../../src/demo/self-signed-certificate.js";
import { startTestGateway } from "../support/test-gateway.js";

/** Issue 12: DemoUpstream.close() hung while a client held an HTTP/2 session open. */
describe("DemoUpstream.close()", () => {
  it("ends while a client holds an HTTP/2 session open that never sent a request", async () => {
    const demo = await new DemoUpstream().start();
    const session = connect(demo.origin, { ca: demo.ca });
    session.on("error", () => {});
    await once(session, "connect");

    const outcome = await Promise.race([
      demo.close().then(() => "closed"),
      new Promise((resolve) => setTimeout(resolve, 5_000, "still open after 5 s")),
    ]);

    expect(outcome).toBe("closed");
    session.destroy();
  });
});

it("two demo certificates made on one machine can be trusted together (each has a name of its own)", async () => {
  // NODE_EXTRA_CA_CERTS holding a standalone demo upstream's certificate, while the built-in demo
  // serves another: both named CN=localhost, OpenSSL took the trusted one for the served one's issuer.
  const [served, other] = await Promise.all([selfSignedCertificate(), selfSignedCertificate()]);
  const server = createTlsServer({ cert: served.cert, key: served.key }, (socket) => socket.end("ok"));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  try {
    const verified = await new Promise<string>((resolve) => {
      const socket = tlsConnect({
        host: "127.0.0.1",
        port,
        servername: "localhost",
        ca: [other.cert, served.cert],
      });
      socket.once("secureConnect", () => {
        socket.destroy();
        resolve("verified");
      });
      socket.once("error", (error: NodeJS.ErrnoException) => resolve(String(error.code)));
    });
    expect(verified).toBe("verified");
  } finally {
    server.close();
  }
});

it("a tool schema the demo cannot fill is refused with INVALID_ARGUMENT, and the gateway it shares a process with serves on", async () => {
  const gw = await startTestGateway();
  const client = createClient(GatewayService, createGrpcTransport({ baseUrl: gw.url }));
  const messages = [{ role: "user", content: "hi" }];
  try {
    const loop = JSON.stringify({ $ref: "#/$defs/a", $defs: { a: { $ref: "#/$defs/a" } } });
    const error = await client
      .generate({ model: "demo", messages, tools: [{ name: "t", parametersJson: loop }] })
      .then(() => undefined, ConnectError.from);
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(error?.rawMessage).toContain("nests deeper than 32");
    expect((await client.generate({ model: "demo", messages })).text.length).toBeGreaterThan(0);
  } finally {
    await gw.close();
  }
});
