import { once } from "node:events";
import { type AddressInfo, createServer as createTcpServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { Code, ConnectError } from "@connectrpc/connect";
import { Client, request } from "undici";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { selfSignedCertificate } from "../../src/demo/self-signed-certificate.js";
import { type ErrorKind, GatewayError } from "../../src/errors/gateway-error.js";
import { classifyStatus } from "../../src/providers/http-status.js";
import { httpError } from "../../src/providers/openai/errors.js";
import { isRetryable } from "../../src/router/retry-policy.js";
import { toConnectError } from "../../src/service/connect-errors.js";
import { toUpstreamError } from "../../src/upstream/upstream-error.js";

const ORIGIN = "https://api.example.test";
const notAborted = new AbortController().signal;

describe("classifyStatus", () => {
  test.each([
    { status: 400, kind: "invalid_argument", retryable: false },
    { status: 401, kind: "unauthenticated", retryable: false },
    { status: 403, kind: "permission_denied", retryable: false },
    { status: 404, kind: "not_found", retryable: false },
    { status: 408, kind: "deadline_exceeded", retryable: true },
    { status: 429, kind: "resource_exhausted", retryable: true },
    { status: 500, kind: "internal", retryable: true },
    { status: 502, kind: "unavailable", retryable: true },
    { status: 503, kind: "unavailable", retryable: true },
    { status: 504, kind: "deadline_exceeded", retryable: true },
    { status: 529, kind: "unavailable", retryable: true },
    { status: 418, kind: "invalid_argument", retryable: false },
    { status: 409, kind: "invalid_argument", retryable: false },
    { status: 501, kind: "unavailable", retryable: false },
    { status: 302, kind: "unavailable", retryable: false },
  ] satisfies { status: number; kind: ErrorKind; retryable: boolean }[])(
    "HTTP $status is $kind, retryable: $retryable",
    ({ status, kind, retryable }) => {
      expect(classifyStatus(status)).toEqual({ kind, retryable });
    },
  );
});

/** An Error as Node and undici make them: a message and a string `code`. */
function codedError(code: string, message = `failed: ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

describe("toUpstreamError", () => {
  test.each([
    { code: "ECONNREFUSED", kind: "unavailable", reason: "UPSTREAM_ECONNREFUSED", retryable: true },
    { code: "ENOTFOUND", kind: "unavailable", reason: "UPSTREAM_ENOTFOUND", retryable: true },
    { code: "ECONNRESET", kind: "unavailable", reason: "UPSTREAM_ECONNRESET", retryable: true },
    {
      code: "UND_ERR_CONNECT_TIMEOUT",
      kind: "unavailable",
      reason: "UPSTREAM_UND_ERR_CONNECT_TIMEOUT",
      retryable: true,
    },
    {
      code: "UND_ERR_HEADERS_TIMEOUT",
      kind: "deadline_exceeded",
      reason: "UPSTREAM_TIMEOUT",
      retryable: true,
    },
    { code: "UND_ERR_BODY_TIMEOUT", kind: "deadline_exceeded", reason: "UPSTREAM_TIMEOUT", retryable: true },
    { code: "ERR_TLS_CERT_ALTNAME_INVALID", kind: "unavailable", reason: "UPSTREAM_TLS", retryable: false },
    { code: "DEPTH_ZERO_SELF_SIGNED_CERT", kind: "unavailable", reason: "UPSTREAM_TLS", retryable: false },
    { code: "CERT_HAS_EXPIRED", kind: "unavailable", reason: "UPSTREAM_TLS", retryable: false },
    { code: "EWHATEVER", kind: "unavailable", reason: "UPSTREAM_FAILED", retryable: true },
  ] satisfies { code: string; kind: ErrorKind; reason: string; retryable: boolean }[])(
    "$code is $kind ($reason)",
    ({ code, kind, reason, retryable }) => {
      const cause = codedError(code);
      const error = toUpstreamError(cause, ORIGIN);
      expect(error).toMatchObject({ kind, reason, retryable });
      expect(error.message).toContain(ORIGIN);
      expect(error.cause).toBe(cause);
    },
  );

  test("a failure after the caller aborted is cancelled, whatever its code", () => {
    const controller = new AbortController();
    controller.abort();
    const error = toUpstreamError(codedError("ECONNRESET"), ORIGIN, controller.signal);
    expect(error.kind).toBe("cancelled");
    expect(error.retryable).toBe(false);
  });

  test("a GatewayError passes through unchanged", () => {
    const original = new GatewayError("not_found", "no such model");
    expect(toUpstreamError(original, ORIGIN)).toBe(original);
  });

  /** An error as undici makes it for an HTTP/2 stream reset by the peer. */
  const resetError = (rstCode: number) =>
    Object.assign(codedError("UND_ERR_SOCKET", "stream reset"), { http2ErrorCode: rstCode });
  /** The error undici fails an unreplayable stream with on a GOAWAY (client-h2.js getGoAwayError). */
  const goAwayError = () => codedError("UND_ERR_SOCKET", 'HTTP/2: "GOAWAY" frame received with code 0');

  describe("what may be sent again, by how far the request got (issue 11)", () => {
    test.each([
      { what: "a connect failure", error: () => codedError("ECONNREFUSED"), progress: "unsent" },
      {
        what: "a reset before the headers were written",
        error: () => codedError("ECONNRESET"),
        progress: "unsent",
      },
      { what: "REFUSED_STREAM after sending", error: () => resetError(7), progress: "sent" },
      { what: "a GOAWAY that left the stream unprocessed", error: goAwayError, progress: "sent" },
    ] as const)("$what is retryable and not delivered", ({ error, progress }) => {
      const failure = toUpstreamError(error(), ORIGIN, notAborted, progress);
      expect(failure).toMatchObject({ retryable: true, delivered: false });
      expect(isRetryable(failure)).toBe(true);
    });

    test.each([
      {
        what: "a reset after sending",
        error: () => codedError("ECONNRESET"),
        progress: "sent",
        words: "after the request reached",
      },
      {
        what: "INTERNAL_ERROR after sending",
        error: () => resetError(2),
        progress: "sent",
        words: "reset the stream (INTERNAL_ERROR)",
      },
      {
        what: "headers that never came",
        error: () => codedError("UND_ERR_HEADERS_TIMEOUT"),
        progress: "sent",
        words: "after the request reached",
      },
      {
        what: "a reset after the answer began",
        error: () => codedError("ECONNRESET"),
        progress: "answered",
        words: "had begun its answer",
      },
      {
        what: "REFUSED_STREAM after the answer began (a broken server)",
        error: () => resetError(7),
        progress: "answered",
        words: "had begun its answer",
      },
    ] as const)(
      "$what is delivered: still the deployment's failure, never sent again",
      ({ error, progress, words }) => {
        const failure = toUpstreamError(error(), ORIGIN, notAborted, progress);
        expect(failure).toMatchObject({ delivered: true });
        expect(failure.message).toContain(words);
        expect(isRetryable(failure)).toBe(false);
      },
    );

    test("a provider's own error after the answer began keeps its word, and is delivered", () => {
      const event = new GatewayError(
        "unavailable",
        "anthropic overloaded_error: Overloaded (in the stream)",
        {
          retryable: true,
          status: 529,
          reason: "UPSTREAM_STREAM_ERROR",
          retryAfterMs: 2000,
        },
      );
      const failure = toUpstreamError(event, ORIGIN, notAborted, "answered");
      expect(failure).toMatchObject({
        kind: "unavailable",
        message: event.message,
        retryable: true,
        delivered: true,
        status: 529,
        reason: "UPSTREAM_STREAM_ERROR",
        retryAfterMs: 2000,
      });
      expect(toUpstreamError(event, ORIGIN, notAborted, "unsent")).toBe(event);
    });

    test("HTTP/2 reset codes are named", () => {
      expect(toUpstreamError(resetError(11), ORIGIN).message).toContain("(ENHANCE_YOUR_CALM)");
      expect(toUpstreamError(resetError(99), ORIGIN).message).toContain("(code 99)");
    });
  });

  // Regression: a DOMException has a numeric legacy `code` (TimeoutError: 23), which once made the
  // mapper itself throw a TypeError.
  test("an error with a numeric code (a DOMException) maps instead of throwing", () => {
    const timeout = new DOMException("The operation was aborted due to timeout", "TimeoutError");
    expect(toUpstreamError(timeout, ORIGIN).reason).toBe("UPSTREAM_FAILED");
  });

  // Regression: OpenSSL's ERR_SSL_* codes (an https base_url pointed at a plain-HTTP port) and
  // UNABLE_TO_VERIFY_LEAF_SIGNATURE (a private CA) once fell through to UPSTREAM_FAILED and were retried.
  test.each(["ERR_SSL_WRONG_VERSION_NUMBER", "UNABLE_TO_VERIFY_LEAF_SIGNATURE"])(
    "%s is a TLS failure",
    (code) => {
      expect(toUpstreamError(codedError(code), ORIGIN)).toMatchObject({
        reason: "UPSTREAM_TLS",
        retryable: false,
      });
    },
  );
});

describe("toUpstreamError on real failures over loopback", () => {
  /** Accepts connections and never answers, like a hung upstream. */
  let silent: Server;
  const silentSockets = new Set<Socket>();
  let silentPort: number;
  /** Speaks TLS with a self-signed certificate no client trusts. */
  let selfSigned: Server;
  let selfSignedPort: number;

  beforeAll(async () => {
    silent = createTcpServer((socket) => {
      silentSockets.add(socket);
      socket.on("error", () => {});
    });
    silent.listen(0, "127.0.0.1");
    await once(silent, "listening");
    silentPort = (silent.address() as AddressInfo).port;
    selfSigned = createTlsServer(await selfSignedCertificate(), (socket) => socket.end());
    selfSigned.on("tlsClientError", () => {});
    selfSigned.listen(0, "127.0.0.1");
    await once(selfSigned, "listening");
    selfSignedPort = (selfSigned.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const socket of silentSockets) socket.destroy();
    await Promise.all([silent, selfSigned].map((server) => new Promise((resolve) => server.close(resolve))));
  });

  /** What undici threw for a GET, mapped; fails the test when the GET succeeds. */
  async function mappedFailure(
    url: string,
    options: { dispatcher?: Client; headersTimeout?: number; signal?: AbortSignal } = {},
  ): Promise<GatewayError> {
    try {
      await request(url, options);
    } catch (error) {
      return toUpstreamError(error, new URL(url).origin, options.signal);
    } finally {
      await options.dispatcher?.close();
    }
    throw new Error(`expected GET ${url} to fail`);
  }

  test("a refused connection", async () => {
    const closed = createTcpServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const error = await mappedFailure(`http://127.0.0.1:${port}/`);
    expect(error).toMatchObject({ kind: "unavailable", reason: "UPSTREAM_ECONNREFUSED", retryable: true });
  });

  test("a TLS handshake that never completes is a connect timeout", async () => {
    const url = `https://127.0.0.1:${silentPort}`;
    const error = await mappedFailure(`${url}/`, { dispatcher: new Client(url, { connectTimeout: 100 }) });
    expect(error).toMatchObject({ kind: "unavailable", reason: "UPSTREAM_UND_ERR_CONNECT_TIMEOUT" });
  });

  test("an upstream that never answers is a headers timeout", async () => {
    const error = await mappedFailure(`http://127.0.0.1:${silentPort}/`, { headersTimeout: 100 });
    expect(error).toMatchObject({ kind: "deadline_exceeded", reason: "UPSTREAM_TIMEOUT" });
  });

  test("a request the caller aborts is cancelled", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const error = await mappedFailure(`http://127.0.0.1:${silentPort}/`, { signal: controller.signal });
    expect(error.kind).toBe("cancelled");
  });

  test("an untrusted certificate is a TLS failure", async () => {
    const error = await mappedFailure(`https://127.0.0.1:${selfSignedPort}/`);
    expect(error).toMatchObject({ kind: "unavailable", reason: "UPSTREAM_TLS", retryable: false });
  });

  test("a certificate for another name is a TLS failure", async () => {
    const { cert } = await selfSignedCertificate();
    const url = `https://127.0.0.1:${selfSignedPort}`;
    // Trusted, but the client asks for a name the certificate does not carry.
    const dispatcher = new Client(url, { connect: { ca: cert, servername: "api.example.test" } });
    const error = await mappedFailure(`${url}/`, { dispatcher });
    expect(error.reason).toBe("UPSTREAM_TLS");
  });
});

describe("httpError of the OpenAI format", () => {
  const invalidKeyBody = JSON.stringify({
    error: {
      message:
        "Incorrect API key provided: sk-proj-abc123456789xyz. You can find your API key at https://platform.openai.com/account/api-keys.",
      type: "invalid_request_error",
      param: null,
      code: "invalid_api_key",
    },
  });

  test("a 401 quoting the key is UNAUTHENTICATED, with the key redacted", () => {
    const error = httpError(401, invalidKeyBody, {}, "openai");
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ kind: "unauthenticated", status: 401, reason: "UPSTREAM_HTTP_401" });
    expect(error.message).toContain("Incorrect API key provided");
    expect(error.message).toContain("[redacted]");
    expect(error.message).not.toContain("abc123456789xyz");
    expect(error.message).not.toContain("sk-proj");
  });

  test.each([
    { body: "Unauthorized: Bearer sk-live-0123456789abcdef is not valid", secret: "0123456789abcdef" },
    { body: '{"error": "bad key sk-ant-api03-AbCdEf123456"}', secret: "AbCdEf123456" },
    {
      body: '{"message": "key sk-proj-********************************************xyz1 rejected"}',
      secret: "xyz1",
    },
  ])("a key anywhere in the body is redacted: $body", ({ body, secret }) => {
    expect(httpError(401, body, {}, "openai").message).not.toContain(secret);
  });

  test("a 429 carries the wait the provider asked for", () => {
    const body = JSON.stringify({
      error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" },
    });
    const error = httpError(429, body, { "retry-after-ms": "1500" }, "openai");
    expect(error).toMatchObject({ kind: "resource_exhausted", retryable: true, retryAfterMs: 1500 });
  });

  test("an empty body still names the status", () => {
    const error = httpError(503, "", {}, "openai");
    expect(error).toMatchObject({ kind: "unavailable", status: 503 });
    expect(error.message).toContain("HTTP 503");
  });
});

describe("toConnectError", () => {
  // Typed as a Record so that a new ErrorKind without a mapping here does not compile.
  const codeOfKind: Record<ErrorKind, Code> = {
    invalid_argument: Code.InvalidArgument,
    not_found: Code.NotFound,
    unauthenticated: Code.Unauthenticated,
    permission_denied: Code.PermissionDenied,
    resource_exhausted: Code.ResourceExhausted,
    failed_precondition: Code.FailedPrecondition,
    unavailable: Code.Unavailable,
    deadline_exceeded: Code.DeadlineExceeded,
    cancelled: Code.Canceled,
    internal: Code.Internal,
  };

  test.each(Object.entries(codeOfKind) as [ErrorKind, Code][])("%s becomes Code %i", (kind, code) => {
    const error = toConnectError(
      new GatewayError(kind, `went ${kind}`, { reason: "SOME_REASON" }),
      notAborted,
    );
    expect(error.code).toBe(code);
    expect(error.rawMessage).toBe(`went ${kind}`);
    expect(error.metadata.get("weaver-error-reason")).toBe("SOME_REASON");
  });

  test("a provider's wait becomes retry-after metadata", () => {
    const error = toConnectError(
      new GatewayError("resource_exhausted", "slow down", { retryAfterMs: 1500 }),
      notAborted,
    );
    expect(error.metadata.get("retry-after")).toBe("2");
    expect(error.metadata.get("retry-after-ms")).toBe("1500");
  });

  test.each([
    { what: "an Error", thrown: new TypeError("Cannot read properties of undefined (reading 'choices')") },
    { what: "a string", thrown: "Cannot read properties of undefined (reading 'choices')" },
  ])("$what becomes INTERNAL 'internal error', with nothing of the original", ({ thrown }) => {
    const error = toConnectError(thrown, notAborted);
    expect(error.code).toBe(Code.Internal);
    expect(error.rawMessage).toBe("internal error");
    expect(error.message).toBe("[internal] internal error");
    expect(error.message).not.toContain("choices");
    expect(error.message).not.toContain("    at ");
    expect([...error.metadata.keys()]).toEqual([]);
    expect(error.details).toEqual([]);
  });

  test("a ConnectError passes through unchanged", () => {
    const original = new ConnectError("already mapped", Code.AlreadyExists);
    expect(toConnectError(original, notAborted)).toBe(original);
  });

  test("the caller's cancel wins over the error it caused below", () => {
    const controller = new AbortController();
    const cancel = new ConnectError("the caller cancelled", Code.Canceled);
    controller.abort(cancel);
    expect(toConnectError(new GatewayError("unavailable", "connection lost"), controller.signal)).toBe(
      cancel,
    );
  });

  test("an abort that is not a ConnectError does not hide the error", () => {
    const controller = new AbortController();
    controller.abort();
    expect(toConnectError(new GatewayError("unavailable", "connection lost"), controller.signal).code).toBe(
      Code.Unavailable,
    );
  });
});
