import { once } from "node:events";
import { type ClientHttp2Session, connect as connectHttp2 } from "node:http2";
import { setImmediate as nextTurn } from "node:timers/promises";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  GenerateRequestSchema,
  GenerateResponseSchema,
  GenerateStreamRequestSchema,
  GenerateStreamResponseSchema,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { createGrpcJsGatewayClient } from "../support/grpc-js-client.js";
import { generateRequest, streamRequest } from "../support/provider-gateway.js";
import { startTestGateway, type TestGateway } from "../support/test-gateway.js";

/**
 * Plain gRPC's generation calls are served on the HTTP/2 stream without connect-es's handler
 * (src/server/grpc-generation.ts). These pin what that path must do as connect-es did: framing,
 * its errors, pieces of any size, trailers; and what it leaves to the adapter (compression).
 */

const SERVICE = "/weaver.gateway.v1.GatewayService";

let gw: TestGateway;
let session: ClientHttp2Session;
beforeAll(async () => {
  gw = await startTestGateway({ server: { max_request_bytes: 64 * 1024 } });
  session = connectHttp2(gw.url);
  session.on("error", () => {});
});
afterAll(async () => {
  session.close();
  await gw.close();
});

function frame(message: Uint8Array, flags = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

const HELLO = frame(toBinary(GenerateRequestSchema, generateRequest({ model: "demo", maxTokens: 4 })));

interface RawAnswer {
  contentType?: string;
  status?: string;
  message?: string;
  /** The length-prefixed messages of the body, unframed. */
  messages: Buffer[];
  /** Whether the status came in the trailers (false: a trailers-only answer). */
  inTrailers: boolean;
}

/** One raw gRPC call: the body written in `pieces`, each on its own turn of the event loop. */
async function rawCall(method: string, pieces: Buffer[], headers: Record<string, string> = {}) {
  const stream = session.request({
    ":method": "POST",
    ":path": `${SERVICE}/${method}`,
    "content-type": "application/grpc",
    te: "trailers",
    ...headers,
  });
  const answer: RawAnswer = { messages: [], inTrailers: false };
  const body: Buffer[] = [];
  stream.on("response", (h) => {
    answer.contentType = h["content-type"];
    if (h["grpc-status"] !== undefined) answer.status = String(h["grpc-status"]);
    if (h["grpc-message"] !== undefined) answer.message = String(h["grpc-message"]);
  });
  stream.on("trailers", (h) => {
    answer.inTrailers = true;
    answer.status = String(h["grpc-status"]);
    if (h["grpc-message"] !== undefined) answer.message = String(h["grpc-message"]);
  });
  stream.on("data", (chunk: Buffer) => body.push(chunk));
  stream.on("error", () => {});
  const closed = once(stream, "close");
  for (const piece of pieces) {
    stream.write(piece);
    await nextTurn();
  }
  stream.end();
  await closed;
  let rest = Buffer.concat(body);
  while (rest.length >= 5) {
    const length = rest.readUInt32BE(1);
    answer.messages.push(rest.subarray(5, 5 + length));
    rest = rest.subarray(5 + length);
  }
  return answer;
}

/** `bytes` cut at the given offsets. */
function cut(bytes: Buffer, offsets: number[]): Buffer[] {
  const at = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const to of [...at, bytes.length]) {
    pieces.push(bytes.subarray(from, to));
    from = to;
  }
  return pieces;
}

describe("a Generate call", () => {
  test("is answered with one message and grpc-status 0 in the trailers", async () => {
    const answer = await rawCall("Generate", [HELLO]);
    expect(answer).toMatchObject({ contentType: "application/grpc+proto", status: "0", inTrailers: true });
    expect(answer.messages).toHaveLength(1);
    const reply = fromBinary(GenerateResponseSchema, answer.messages[0] ?? Buffer.alloc(0));
    expect(reply.model).toBe("demo");
    expect(reply.text.length).toBeGreaterThan(0);
    expect(reply.usage?.outputTokens).toBe(4);
  });

  test("sent in pieces of any size is served the same", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 12 }), async (offsets) => {
        const answer = await rawCall("Generate", cut(HELLO, offsets));
        expect(answer.status).toBe("0");
        expect(fromBinary(GenerateResponseSchema, answer.messages[0] ?? Buffer.alloc(0)).model).toBe("demo");
      }),
      { numRuns: 30 },
    );
  });
});

test("a GenerateStream call sends start, its deltas and finish as messages, then grpc-status 0", async () => {
  const request = frame(
    toBinary(GenerateStreamRequestSchema, streamRequest({ model: "demo", maxTokens: 5 })),
  );
  const answer = await rawCall("GenerateStream", [request]);
  expect(answer).toMatchObject({ status: "0", inTrailers: true });
  const events = answer.messages.map((m) => fromBinary(GenerateStreamResponseSchema, m).event.case);
  expect(events[0]).toBe("start");
  expect(events.at(-1)).toBe("finish");
  expect(events.filter((e) => e === "delta")).toHaveLength(5);
});

describe("a request that is not one well-formed message gets connect-es's status, in a trailers-only answer", () => {
  const length100 = Buffer.from([0, 0, 0, 0, 100]);
  test.each([
    { name: "no message", body: Buffer.alloc(0), code: Code.Unimplemented },
    { name: "3 bytes of a frame header", body: HELLO.subarray(0, 3), code: Code.InvalidArgument },
    {
      name: "a frame cut short",
      body: Buffer.concat([length100, Buffer.alloc(10)]),
      code: Code.InvalidArgument,
    },
    { name: "two messages", body: Buffer.concat([HELLO, HELLO]), code: Code.Unimplemented },
    {
      name: "a compressed message with no grpc-encoding",
      body: frame(Buffer.from("x"), 1),
      code: Code.Internal,
    },
    { name: "a message of random bytes", body: frame(Buffer.from([0xff, 0xff, 0xff])), code: Code.Internal },
    { name: "a frame over the limit", body: Buffer.from([0, 0, 0x10, 0, 0]), code: Code.ResourceExhausted },
  ])("$name: grpc-status $code", async ({ body, code }) => {
    const answer = await rawCall("Generate", [body]);
    expect(answer).toMatchObject({ status: String(code), inTrailers: false, messages: [] });
    expect(answer.message).toBeTruthy();
  });

  test("an invalid grpc-timeout gets INVALID_ARGUMENT", async () => {
    const answer = await rawCall("Generate", [HELLO], { "grpc-timeout": "soon" });
    expect(answer.status).toBe(String(Code.InvalidArgument));
  });

  test("a refused request is logged and counted like any call", async () => {
    const before = gw.logs.length;
    await rawCall("Generate", [Buffer.concat([HELLO, HELLO])]);
    expect(gw.logs.slice(before)).toContainEqual(
      expect.objectContaining({ method: "Generate", protocol: "grpc", code: "unimplemented" }),
    );
  });
});

test("a gzip-compressed call from grpc-js is still served (the Connect adapter decompresses it)", async () => {
  // 2 is gzip in grpc-js's numbering.
  const client = createGrpcJsGatewayClient(gw.url, { "grpc.default_compression_algorithm": 2 });
  const before = gw.logs.length;
  try {
    const reply = await client.unary("generate", {
      model: "demo",
      maxTokens: 3,
      messages: [{ role: "user", content: "x".repeat(4096) }],
    });
    expect(reply.model).toBe("demo");
  } finally {
    client.close();
  }
  expect(gw.logs.slice(before)).toContainEqual(expect.objectContaining({ method: "Generate", code: "ok" }));
});
