import { once } from "node:events";
import { request as httpRequest } from "node:http";
import { type ClientHttp2Session, connect as connectHttp2, type SessionOptions } from "node:http2";
import { connect as connectTcp } from "node:net";
import { toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { GenerateRequestSchema } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { generateRequest } from "../support/provider-gateway.js";
import { startTestGateway, type TestGateway } from "../support/test-gateway.js";

/** Regressions the protocol fuzzer (test/fuzz) found, each pinned by its smallest case. */

const GENERATE_PATH = "/weaver.gateway.v1.GatewayService/Generate";
const HELLO = generateRequest({ model: "demo", maxTokens: 3 });
const CHAT = JSON.stringify({ model: "demo", messages: [{ role: "user", content: "hi" }], max_tokens: 3 });

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ server: { max_request_bytes: 64 * 1024 } });
});
afterAll(() => gw.close());

/** A fresh HTTP/2 session to the gateway, its errors expected (cases end it abruptly). */
function openSession(options: SessionOptions = {}): ClientHttp2Session {
  const session = connectHttp2(gw.url, options);
  session.on("error", () => {});
  return session;
}

/** One gRPC request over a fresh HTTP/2 session: its grpc-status and grpc-message, from headers or trailers. */
async function rawGrpc(headers: Record<string, string>): Promise<{ status?: string; message?: string }> {
  const session = openSession();
  try {
    const stream = session.request({
      ":method": "POST",
      ":path": GENERATE_PATH,
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    const payload = toBinary(GenerateRequestSchema, HELLO);
    const frame = Buffer.alloc(5);
    frame.writeUInt32BE(payload.length, 1);
    stream.end(Buffer.concat([frame, payload]));
    stream.resume();
    const seen: { status?: string; message?: string } = {};
    const take = (h: Record<string, unknown>) => {
      if (h["grpc-status"] !== undefined) seen.status = String(h["grpc-status"]);
      if (h["grpc-message"] !== undefined) seen.message = String(h["grpc-message"]);
    };
    stream.on("response", take);
    stream.on("trailers", take);
    await once(stream, "close");
    return seen;
  } finally {
    session.close();
  }
}

describe("a deadline longer than Node's longest timer (~24.8 days) is not read as 1 ms", () => {
  // Raw headers: the clients themselves arm a timer for the deadline they send, and fail at once too.
  test("Connect with connect-timeout-ms: 4294967296 (legal: up to 10 digits) is served", async () => {
    const response = await fetch(`${gw.url}${GENERATE_PATH}`, {
      method: "POST",
      headers: { "content-type": "application/json", "connect-timeout-ms": String(2 ** 32) },
      body: JSON.stringify({ model: "demo", messages: [{ role: "user", content: "hi" }], maxTokens: 3 }),
    });
    expect(response.status).toBe(200);
  });

  test("grpc-timeout: 600H (legal: 8 digits and a unit) is served", async () => {
    expect(await rawGrpc({ "grpc-timeout": "600H" })).toMatchObject({ status: "0" });
  });

  test("the OpenAI API with x-stainless-timeout past the longest timer is served", async () => {
    const response = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-stainless-timeout": "2147484" },
      body: CHAT,
    });
    expect(response.status).toBe(200);
  });
});

test("grpc-message quoting a 12,000-character header is bounded (trailers past the client's limit would be dropped whole)", async () => {
  const seen = await rawGrpc({ "grpc-timeout": `${"9".repeat(12_000)}S` });
  expect(seen.status).toBeDefined();
  expect(seen.status).not.toBe("0");
  expect(seen.message?.length ?? 0).toBeLessThan(4_000);
});

test("a Connect body refused before it is read reaches an HTTP/1.1 client as the refusal, not a reset (the connection closes lingering, as the OpenAI API's does)", async () => {
  // Over the wire limit (4 x max_request_bytes), refused from its length before a byte is read.
  const body = Buffer.alloc(16 * 1024 * 1024, "x");
  for (let i = 0; i < 5; i++) {
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = httpRequest(`${gw.url}${GENERATE_PATH}`, {
        method: "POST",
        agent: false,
        headers: { "content-type": "application/json", "content-length": body.length },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on("error", reject);
      req.end(body);
    });
    expect(status).toBe(429);
  }
});

test("a gRPC request whose headers are over max_header_bytes gets a gRPC status (RESOURCE_EXHAUSTED), not HTTP 431", async () => {
  expect(await rawGrpc({ "user-agent": "x".repeat(20_000) })).toMatchObject({ status: "8" });
});

test.each([
  ["the OpenAI API", "/v1/chat/completions", "application/json", 431, '"request_headers_too_large"'],
  ["Connect", GENERATE_PATH, "application/json", 429, '"resource_exhausted"'],
  ["plain HTTP", "/healthz", "text/plain", 431, "max_header_bytes"],
])(
  "%s over max_header_bytes on HTTP/2 is refused in its own shape",
  async (_api, path, contentType, status, says) => {
    const session = openSession();
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": path,
        "content-type": contentType,
        "user-agent": "x".repeat(20_000),
      });
      stream.end("{}");
      let body = "";
      stream.on("data", (chunk) => {
        body += chunk;
      });
      const [headers] = (await once(stream, "response")) as [Record<string, unknown>];
      await once(stream, "end");
      expect(headers[":status"]).toBe(status);
      expect(body).toContain(says);
    } finally {
      session.close();
    }
  },
);

test("a deadline that passed while the request was read ends the call DEADLINE_EXCEEDED, with no negative timer armed", async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
  process.on("warning", onWarning);
  const session = openSession();
  try {
    const stream = session.request({
      ":method": "POST",
      ":path": GENERATE_PATH,
      "content-type": "application/json",
      "connect-timeout-ms": "5",
    });
    // The body arrives after the deadline: Connect gives the handler the time left, below 0.
    const request = JSON.stringify({
      model: "demo",
      messages: [{ role: "user", content: "hi" }],
      maxTokens: 3,
    });
    stream.write(request.slice(0, 10));
    await new Promise((resolve) => setTimeout(resolve, 30));
    stream.end(request.slice(10));
    let body = "";
    stream.on("data", (chunk) => {
      body += chunk;
    });
    await once(stream, "end");
    expect(body).toContain('"deadline_exceeded"');
    // A warning is emitted on the next turn.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.filter((w) => w.startsWith("TimeoutNegativeWarning"))).toEqual([]);
  } finally {
    process.off("warning", onWarning);
    session.close();
  }
});

test.each([
  ["gRPC", "application/grpc+json", "8"],
  ["Connect streaming", "application/connect+json", "resource_exhausted"],
])(
  "%s GenerateStream over HTTP/2 with a 12 MB body (two messages, each over the limit) gets its refusal, and the session stays usable",
  async (_protocol, contentType, says) => {
    const message = JSON.stringify({
      model: "demo",
      messages: [{ role: "user", content: "x".repeat(6 << 20) }],
    });
    const envelope = Buffer.alloc(5);
    envelope.writeUInt32BE(message.length, 1);
    const body = Buffer.concat([envelope, Buffer.from(message), envelope, Buffer.from(message)]);
    // The client's own session memory must hold the body it queues (Node resets the stream past it).
    const session = openSession({ maxSessionMemory: 256 });
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": "/weaver.gateway.v1.GatewayService/GenerateStream",
        "content-type": contentType,
        te: "trailers",
      });
      let said = "";
      stream.on("response", (headers) => {
        said += JSON.stringify(headers);
      });
      stream.on("trailers", (trailers) => {
        said += JSON.stringify(trailers);
      });
      stream.on("data", (chunk) => {
        said += chunk;
      });
      stream.on("error", () => {});
      stream.end(body);
      await once(stream, "close");
      expect(said).toContain(says);
      const health = session.request({ ":path": "/healthz" });
      health.resume();
      const [headers] = (await once(health, "response")) as [Record<string, unknown>];
      expect(headers[":status"]).toBe(200);
    } finally {
      session.close();
    }
  },
);

test("an OpenAI API caller that hangs up halfway through its body is logged as cancelled, not as an internal error", async () => {
  const before = gw.logs.length;
  const socket = connectTcp(Number(new URL(gw.url).port), "127.0.0.1");
  socket.on("error", () => {});
  await once(socket, "connect");
  socket.write(
    'POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"model":',
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  socket.destroy();
  const line = await vi.waitFor(() => {
    const found = gw.logs.slice(before).find((l) => l.msg === "rpc" && l.method === "ChatCompletions");
    if (found === undefined) throw new Error("no rpc line yet");
    return found;
  });
  expect(line).toMatchObject({ code: "canceled", level: "info" });
});
