import { once } from "node:events";
import { type IncomingMessage, request } from "node:http";
import { connect } from "node:http2";
import { Writable } from "node:stream";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { parseConfig } from "../../src/config/load-config.js";
import { type Gateway, startGateway } from "../../src/gateway.js";
import { createLogger } from "../../src/log/logger.js";
import { type FakeOpenAI, startFakeOpenAI } from "../support/fakes/index.js";

// Issue 12: a cross-origin text/plain POST reached the provider; an over-limit body reset the connection.

const KEY = "sk-guards-test";
/** The gateway reads at most 4 × max_request_bytes of an OpenAI-API body. */
const MAX_REQUEST_BYTES = 1024;
const BODY_LIMIT = 4 * MAX_REQUEST_BYTES;
const MODEL = "openai/gpt-4o-mini";

let fake: FakeOpenAI;
let gateway: Gateway;
let url: string;

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKey: KEY, cleartext: true });
  const config = parseConfig({
    server: { host: "127.0.0.1", port: 0, drain_timeout: "2s", max_request_bytes: MAX_REQUEST_BYTES },
    providers: {
      openai: {
        type: "openai",
        base_url: `${fake.origin}/v1`,
        api_key_env: "GUARDS_KEY",
        passthrough_models: true,
      },
    },
  });
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  gateway = await startGateway(config, { logger: createLogger({}, quiet), env: { GUARDS_KEY: KEY } });
  url = `${gateway.url}/v1/chat/completions`;
});
afterAll(async () => {
  await gateway?.close();
  await fake?.close();
});

let reachedUpstreamBefore = 0;
beforeEach(() => {
  reachedUpstreamBefore = fake.requestCount;
});
const reachedUpstream = () => fake.requestCount - reachedUpstreamBefore;

const chatBody = (content = "hello") =>
  JSON.stringify({ model: MODEL, messages: [{ role: "user", content }] });

function openAIError(message: string | RegExp, code: string) {
  return {
    error: { message: expect.stringMatching(message), type: "invalid_request_error", param: null, code },
  };
}

describe("the /v1 POST routes take application/json only", () => {
  test("a JSON body with a charset parameter, in any case, reaches the provider (the control)", async () => {
    for (const type of ["application/json", "Application/JSON; charset=utf-8"]) {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": type },
        body: chatBody(),
      });
      expect(response.status).toBe(200);
      await response.json();
    }
    expect(reachedUpstream()).toBe(2);
  });

  // What a page may send cross-origin without a CORS preflight, and a body with no type at all.
  test.each([
    ["text/plain;charset=UTF-8", "content-type text/plain"],
    ["application/x-www-form-urlencoded", "content-type application/x-www-form-urlencoded"],
    ["multipart/form-data; boundary=x", "content-type multipart/form-data"],
    ["(none)", "no content-type"],
  ])("%s is a 415 in OpenAI's shape and never reaches the provider", async (type, label) => {
    const headers: Record<string, string> = { origin: "https://evil.example" };
    if (type !== "(none)") headers["content-type"] = type;
    // A Uint8Array body leaves the content-type unset; a string one would make it text/plain.
    const response = await fetch(url, {
      method: "POST",
      headers,
      body: new TextEncoder().encode(chatBody()),
    });
    expect(response.status).toBe(415);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toEqual(
      openAIError(`${label}: the body must be application/json`, "unsupported_media_type"),
    );
    expect(reachedUpstream()).toBe(0);
  });

  test("a browser's simple request (a string body, so text/plain) is refused too", async () => {
    const response = await fetch(url, { method: "POST", body: chatBody() });
    expect(response.status).toBe(415);
    expect(reachedUpstream()).toBe(0);
  });
});

/** An HTTP/1.1 POST over its own connection; resolves with the answer once the socket has closed. */
function post(
  headers: Record<string, string | number>,
  send: (req: ReturnType<typeof request>) => void,
): Promise<{ response: IncomingMessage; body: string; socketErrors: Error[] }> {
  return new Promise((resolve, reject) => {
    const socketErrors: Error[] = [];
    const req = request(url, {
      method: "POST",
      agent: false,
      headers: { "content-type": "application/json", ...headers },
    });
    req.on("error", (error) => socketErrors.push(error));
    req.on("response", async (response) => {
      let body = "";
      response.setEncoding("utf8");
      for await (const chunk of response) body += chunk;
      if (!req.socket?.destroyed) await once(req.socket as NonNullable<typeof req.socket>, "close");
      resolve({ response, body, socketErrors });
    });
    req.on("close", () => setTimeout(() => reject(new Error("closed without an answer")), 100).unref());
    send(req);
  });
}

const expectedTooLarge = openAIError(`body is over the limit of ${BODY_LIMIT} bytes`, "request_too_large");

describe("a body over the limit is a JSON 413, then a clean close", () => {
  test("a declared length over the limit is answered before a byte of the body is sent", async () => {
    // 1 GiB announced, nothing sent: the answer cannot wait for the body.
    const { response, body, socketErrors } = await post({ "content-length": 2 ** 30 }, (req) =>
      req.flushHeaders(),
    );
    expect(response.statusCode).toBe(413);
    expect(response.headers.connection).toBe("close");
    expect(response.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(body)).toEqual(expectedTooLarge);
    expect(socketErrors).toEqual([]);
    expect(reachedUpstream()).toBe(0);
  });

  test("a whole body over the limit reaches the client as a 413 with no reset or EPIPE", async () => {
    const big = chatBody("x".repeat(1024 * BODY_LIMIT));
    for (let i = 0; i < 5; i++) {
      const { response, body, socketErrors } = await post(
        { "content-length": Buffer.byteLength(big) },
        (req) => req.end(big),
      );
      expect(response.statusCode).toBe(413);
      expect(JSON.parse(body)).toEqual(expectedTooLarge);
      expect(socketErrors).toEqual([]);
    }
    expect(reachedUpstream()).toBe(0);
  });

  test("a chunked body that never ends is answered once it passes the limit", async () => {
    let sent = 0;
    const { response, body, socketErrors } = await post({}, (req) => {
      const chunk = Buffer.alloc(1024, "x");
      const pump = () => {
        // Writes until the answer: the gateway must not wait for an end that never comes.
        while (!req.writableEnded && sent < 256 * BODY_LIMIT && req.write(chunk)) sent += chunk.length;
      };
      req.on("drain", pump);
      req.on("response", () => req.end());
      pump();
    });
    expect(response.statusCode).toBe(413);
    expect(response.headers.connection).toBe("close");
    expect(JSON.parse(body)).toEqual(expectedTooLarge);
    expect(socketErrors).toEqual([]);
    expect(reachedUpstream()).toBe(0);
  });

  test("the official openai SDK gets an APIError with status 413", async () => {
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const error = await openai.chat.completions
      .create({ model: MODEL, messages: [{ role: "user", content: "x".repeat(64 * BODY_LIMIT) }] })
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error).toMatchObject({ status: 413, type: "invalid_request_error", code: "request_too_large" });
    expect(reachedUpstream()).toBe(0);
  });
});

describe("over HTTP/2 (prior knowledge)", () => {
  test("a body over the limit is a 413 on its stream, and the session serves the next request", async () => {
    const session = connect(gateway.url);
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": "/v1/chat/completions",
        "content-type": "application/json",
      });
      // Larger than the stream's flow-control window, so it cannot all be buffered unread.
      stream.write(Buffer.alloc(256 * BODY_LIMIT, "x"));
      const [headers] = (await once(stream, "response")) as [Record<string, unknown>];
      let body = "";
      stream.setEncoding("utf8");
      for await (const chunk of stream) body += chunk;
      expect(headers[":status"]).toBe(413);
      expect(JSON.parse(body)).toEqual(expectedTooLarge);

      const next = session.request({ ":method": "GET", ":path": "/v1/models" });
      const [nextHeaders] = (await once(next, "response")) as [Record<string, unknown>];
      next.resume();
      expect(nextHeaders[":status"]).toBe(200);
      expect(reachedUpstream()).toBe(0);
    } finally {
      session.close();
    }
  });
});
