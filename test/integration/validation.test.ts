import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { once } from "node:events";
import { connect as connectHttp2, constants as http2 } from "node:http2";
import { connect as connectTcp, type Socket } from "node:net";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { GatewayService, type GenerateRequestSchema } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { startTestGateway, type TestGateway } from "../support/test-gateway.js";

/** Small, so the over-the-limit bodies stay cheap: text over 1 KiB is refused, bodies over 4 KiB unread. */
const MAX_REQUEST_BYTES = 1024;
const GENERATE_PATH = "/weaver.gateway.v1.GatewayService/Generate";

/** The fields GenerateRequest and GenerateStreamRequest share, so one table serves both RPCs. */
type GenerateRequestInit = Omit<MessageInitShape<typeof GenerateRequestSchema>, "$typeName">;

const validRequest = {
  model: "demo",
  messages: [{ role: "user", content: "hello" }],
} satisfies GenerateRequestInit;

interface InvalidCase {
  name: string;
  request: GenerateRequestInit;
  code: Code;
  /** The field the message must start with, e.g. "messages[0].role". */
  field?: string;
}

const invalidCases: InvalidCase[] = [
  {
    name: "missing model",
    request: { ...validRequest, model: "" },
    code: Code.InvalidArgument,
    field: "model",
  },
  {
    name: "no messages",
    request: { ...validRequest, messages: [] },
    code: Code.InvalidArgument,
    field: "messages",
  },
  {
    name: "an empty message content",
    request: { ...validRequest, messages: [{ role: "user", content: "  " }] },
    code: Code.InvalidArgument,
    field: "messages[0].content",
  },
  {
    name: "a bad role",
    request: { ...validRequest, messages: [{ role: "robot", content: "hello" }] },
    code: Code.InvalidArgument,
    field: "messages[0].role",
  },
  {
    name: "max_tokens 0",
    request: { ...validRequest, maxTokens: 0 },
    code: Code.InvalidArgument,
    field: "max_tokens",
  },
  {
    name: "max_tokens 1000001",
    request: { ...validRequest, maxTokens: 1_000_001 },
    code: Code.InvalidArgument,
    field: "max_tokens",
  },
  {
    name: "temperature 3",
    request: { ...validRequest, temperature: 3 },
    code: Code.InvalidArgument,
    field: "temperature",
  },
  { name: "top_p 1.5", request: { ...validRequest, topP: 1.5 }, code: Code.InvalidArgument, field: "top_p" },
  {
    name: "5 stop sequences",
    request: { ...validRequest, stop: ["a", "b", "c", "d", "e"] },
    code: Code.InvalidArgument,
    field: "stop",
  },
  {
    // Fits the wire limit, so the service reads it and names the field.
    name: "text over max_request_bytes",
    request: { ...validRequest, messages: [{ role: "user", content: "x".repeat(2 * MAX_REQUEST_BYTES) }] },
    code: Code.InvalidArgument,
    field: "messages",
  },
  {
    // Over the wire limit: refused before it is parsed.
    name: "a body over 4x max_request_bytes",
    request: { ...validRequest, messages: [{ role: "user", content: "x".repeat(5 * MAX_REQUEST_BYTES) }] },
    code: Code.ResourceExhausted,
  },
];

const transports: { name: string; create: (baseUrl: string) => Transport }[] = [
  { name: "gRPC", create: (baseUrl) => createGrpcTransport({ baseUrl }) },
  { name: "Connect JSON", create: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" }) },
  { name: "gRPC-Web", create: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }) },
];

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ server: { max_request_bytes: MAX_REQUEST_BYTES } });
});
afterAll(() => gw.close());

/** The error a call failed with; fails the test when the call succeeds. */
async function connectErrorOf(call: () => Promise<unknown>): Promise<ConnectError> {
  try {
    await call();
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the call to fail");
}

function expectNoStackTrace(text: string): void {
  expect(text).not.toContain("    at ");
  expect(text).not.toContain(".ts:");
}

describe.each(transports)("over $name", ({ create }) => {
  let client: Client<typeof GatewayService>;
  beforeAll(() => {
    client = createClient(GatewayService, create(gw.url));
  });

  test.each(invalidCases)("Generate with $name is refused", async ({ request, code, field }) => {
    const error = await connectErrorOf(() => client.generate(request));
    expect(Code[error.code]).toBe(Code[code]);
    if (field !== undefined) {
      expect(error.rawMessage.startsWith(`${field} `), error.rawMessage).toBe(true);
      expect(error.metadata.get("weaver-error-reason")).toBe("INVALID_FIELD");
    }
    expectNoStackTrace(error.message);
  });

  test.each(invalidCases)(
    "GenerateStream with $name is refused before any message",
    async ({ request, code, field }) => {
      const received: unknown[] = [];
      const error = await connectErrorOf(async () => {
        for await (const event of client.generateStream(request)) received.push(event);
      });
      expect(Code[error.code]).toBe(Code[code]);
      expect(received).toEqual([]);
      if (field !== undefined) expect(error.rawMessage.startsWith(`${field} `), error.rawMessage).toBe(true);
      expectNoStackTrace(error.message);
    },
  );

  test("an unknown model is NOT_FOUND and names the known models", async () => {
    const error = await connectErrorOf(() => client.generate({ ...validRequest, model: "gpt-5-nano" }));
    expect(error.code).toBe(Code.NotFound);
    expect(error.rawMessage).toContain('"gpt-5-nano"');
    expect(error.rawMessage).toContain("demo, demo-alias");
    expect(error.metadata.get("weaver-error-reason")).toBe("MODEL_NOT_FOUND");
  });

  test("the gateway still serves valid requests after the refused ones", async () => {
    const response = await client.generate(validRequest);
    expect(response.text.length).toBeGreaterThan(0);
    expect(response.model).toBe("demo");
    const events: (string | undefined)[] = [];
    for await (const event of client.generateStream(validRequest)) events.push(event.event.case);
    expect(events[0]).toBe("start");
    expect(events.at(-1)).toBe("finish");
  });
});

/** Deterministic "random" bytes (mulberry32), so a failure can be replayed. */
function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    bytes[i] = (t ^ (t >>> 14)) & 0xff;
  }
  return bytes;
}

/** A gRPC length-prefixed message: flags 0 (uncompressed), 4-byte big-endian length, payload. */
function grpcFrame(payload: Uint8Array): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

/** Sockets the gateway accepted, by the client's port: its end of a connection a test opened. */
const accepted = new Map<number, Socket>();
const waitingFor = new Map<number, (socket: Socket) => void>();
const onAccepted = (message: unknown) => {
  const { socket } = message as { socket: Socket };
  const port = socket.remotePort ?? 0;
  accepted.set(port, socket);
  waitingFor.get(port)?.(socket);
};
beforeAll(() => subscribe("net.server.socket", onAccepted));
afterAll(() => unsubscribe("net.server.socket", onAccepted));

function acceptedFrom(port: number): Promise<Socket> {
  const socket = accepted.get(port);
  if (socket !== undefined) return Promise.resolve(socket);
  return new Promise((resolve) => waitingFor.set(port, resolve));
}

let onUncaught: (error: unknown) => void = () => {};
afterEach(() => {
  process.off("uncaughtException", onUncaught);
});

// connect-es reports a binary body it cannot decode as INTERNAL "parse binary: ..." (as grpc-go
// does), and undecodable JSON as INVALID_ARGUMENT. Either way: a status, a short message, no hang.
describe("garbage on the wire", () => {
  test.each([1, 2, 3])("a Connect proto body of random bytes (seed %i) gets a clean error", async (seed) => {
    const response = await fetch(`${gw.url}${GENERATE_PATH}`, {
      method: "POST",
      headers: { "content-type": "application/proto" },
      body: pseudoRandomBytes(512, seed),
      signal: AbortSignal.timeout(5_000),
    });
    expect(response.status).toBe(500);
    const body = (await response.json()) as { code?: string; message?: string };
    expect(body.code).toBe("internal");
    expect(body.message).toMatch(/^parse binary: /);
    expectNoStackTrace(body.message ?? "");
  });

  test("a Connect JSON body that is not JSON gets INVALID_ARGUMENT", async () => {
    const response = await fetch(`${gw.url}${GENERATE_PATH}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"model": "demo", "messages": [',
      signal: AbortSignal.timeout(5_000),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { code?: string; message?: string };
    expect(body.code).toBe("invalid_argument");
    expectNoStackTrace(body.message ?? "");
  });

  test.each([
    {
      name: "a well-framed message of random bytes",
      body: grpcFrame(pseudoRandomBytes(512, 4)),
      code: Code.Internal,
    },
    {
      // Refused from the frame header alone, without waiting for 4 GiB that never come.
      name: "a frame claiming 4 GiB",
      body: Buffer.concat([Buffer.from([0, 0xff, 0xff, 0xff, 0xff]), pseudoRandomBytes(64, 5)]),
      code: Code.ResourceExhausted,
    },
  ])("gRPC with $name gets grpc-status $code, not a hang", async ({ body, code }) => {
    const session = connectHttp2(gw.url);
    try {
      const stream = session.request({
        [http2.HTTP2_HEADER_METHOD]: "POST",
        [http2.HTTP2_HEADER_PATH]: GENERATE_PATH,
        "content-type": "application/grpc",
        te: "trailers",
      });
      stream.end(body);
      const status = await new Promise<string | undefined>((resolve, reject) => {
        let grpcStatus: string | undefined;
        const take = (headers: Record<string, unknown>) => {
          if (headers["grpc-status"] !== undefined) grpcStatus = String(headers["grpc-status"]);
        };
        stream.on("response", take);
        stream.on("trailers", take);
        stream.on("error", reject);
        stream.on("close", () => resolve(grpcStatus));
        stream.resume();
        stream.setTimeout(5_000, () => reject(new Error("no answer within 5s")));
      });
      expect(status).toBe(String(code));
    } finally {
      session.close();
    }
  });

  // Each case checks itself: the gateway's end of the connection closes without an error escaping
  // (a reset with no 'error' listener is an uncaught exception, the end of the process), and the
  // next request is served.
  test.each(["", "P", "POST / HT"])(
    "a client that sends %j and resets the connection does not take the gateway down",
    async (bytes) => {
      const crashed = new Promise<unknown>((resolve) => {
        onUncaught = resolve;
      });
      process.on("uncaughtException", onUncaught);
      const socket = connectTcp(Number(new URL(gw.url).port), "127.0.0.1");
      socket.on("error", () => {});
      await once(socket, "connect");
      const gatewaySide = await acceptedFrom(socket.localPort ?? 0);
      // Not events.once: its own 'error' listener would hide a missing one.
      const closed = new Promise((resolve) => gatewaySide.once("close", () => resolve("closed")));
      if (bytes) await new Promise<void>((resolve) => socket.write(bytes, () => resolve()));
      socket.resetAndDestroy();

      expect(await Promise.race([closed, crashed])).toBe("closed");
      const client = createClient(GatewayService, createGrpcTransport({ baseUrl: gw.url }));
      expect((await client.generate(validRequest)).text.length).toBeGreaterThan(0);
    },
  );

  test("the gateway still serves gRPC after the garbage", async () => {
    const client = createClient(GatewayService, createGrpcTransport({ baseUrl: gw.url }));
    const response = await client.generate(validRequest);
    expect(response.text.length).toBeGreaterThan(0);
  });
});
