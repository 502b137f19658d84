import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { get } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, expect, test } from "vitest";
import { GatewayService, GenerateRequestSchema } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { selfSignedCertificate } from "../../src/demo/self-signed-certificate.js";
import { startTestGateway, type TestGateway } from "../support/test-gateway.js";

const REQUEST = create(GenerateRequestSchema, {
  model: "demo",
  messages: [{ role: "user", content: "hello over tls" }],
});

let gw: TestGateway;
let certDir: string;
/** The gateway's own self-signed certificate, which clients trust as their CA. */
let ca: string;

beforeAll(async () => {
  const { cert, key } = await selfSignedCertificate();
  ca = cert;
  certDir = await mkdtemp(join(tmpdir(), "weaver-tls-"));
  const cert_file = join(certDir, "cert.pem");
  const key_file = join(certDir, "key.pem");
  await writeFile(cert_file, cert);
  await writeFile(key_file, key, { mode: 0o600 });
  gw = await startTestGateway({ server: { tls: { cert_file, key_file } } });
});

afterAll(async () => {
  await gw?.close();
  await rm(certDir, { recursive: true, force: true });
});

function generateOver(transport: Transport) {
  return createClient(GatewayService, transport).generate(REQUEST);
}

test("the gateway's URL is https", () => {
  expect(gw.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
});

test("gRPC over TLS with HTTP/2 (ALPN h2) completes Generate", async () => {
  const res = await generateOver(createGrpcTransport({ baseUrl: gw.url, nodeOptions: { ca } }));
  expect(res.text).not.toBe("");
  expect(res.upstream?.provider).toBe("demo");
  expect(gw.logs.at(-1)).toMatchObject({ method: "Generate", protocol: "grpc", http: "2.0", code: "ok" });
});

test("Connect over TLS with HTTP/1.1 (ALPN http/1.1) completes Generate", async () => {
  const transport = createConnectTransport({ baseUrl: gw.url, httpVersion: "1.1", nodeOptions: { ca } });
  const res = await generateOver(transport);
  expect(res.text).not.toBe("");
  expect(res.upstream?.provider).toBe("demo");
  expect(gw.logs.at(-1)).toMatchObject({ method: "Generate", protocol: "connect", http: "1.1", code: "ok" });
});

test("HTTP/1.1 over TLS keeps an idle connection 5 min (server.connections.idle_timeout), as in cleartext", async () => {
  const response = await new Promise<IncomingMessage>((resolve, reject) =>
    get(`${gw.url}/healthz`, { ca, headers: { connection: "keep-alive" } }, resolve).on("error", reject),
  );
  response.resume();
  expect(response.headers["keep-alive"]).toBe("timeout=300");
});

test("a client that does not trust the certificate is refused", async () => {
  const logged = gw.logs.length;
  await expect(generateOver(createGrpcTransport({ baseUrl: gw.url }))).rejects.toThrow(
    /self-signed certificate/,
  );
  // The handshake fails, so no RPC reaches the service.
  expect(gw.logs.length).toBe(logged);
});
