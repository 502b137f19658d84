import { describe, expect, it } from "vitest";
import { httpError, streamError } from "../../src/providers/gemini/errors.js";
import { geminiErrorBody } from "../support/fakes/fake-gemini.js";

const body = (code: number, options: Parameters<typeof geminiErrorBody>[1] = {}) =>
  JSON.stringify(geminiErrorBody(code, options));

describe("Gemini's error JSON", () => {
  it.each([
    [400, "INVALID_ARGUMENT", "invalid_argument", false],
    [400, "FAILED_PRECONDITION", "invalid_argument", false],
    [401, "UNAUTHENTICATED", "unauthenticated", false],
    [403, "PERMISSION_DENIED", "permission_denied", false],
    [404, "NOT_FOUND", "not_found", false],
    [429, "RESOURCE_EXHAUSTED", "resource_exhausted", true],
    [500, "INTERNAL", "internal", true],
    [503, "UNAVAILABLE", "unavailable", true],
    [504, "DEADLINE_EXCEEDED", "deadline_exceeded", true],
  ] as const)("HTTP %i %s is %s, retryable %s", (code, status, kind, retryable) => {
    const error = httpError(code, body(code, { status }), {}, "gemini");
    expect(error).toMatchObject({ kind, retryable, status: code, reason: `UPSTREAM_HTTP_${code}` });
    expect(error.message).toMatch(new RegExp(`^gemini ${status}: .+ \\(HTTP ${code}\\)$`));
  });

  it.each([
    ["12s", 12_000],
    ["0.5s", 500],
    ["1.000340012s", 1_000],
  ])("takes RetryInfo's retryDelay %s as %i ms, before a retry-after header", (delay, ms) => {
    const text = JSON.stringify({
      error: {
        code: 429,
        status: "RESOURCE_EXHAUSTED",
        details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: delay }],
      },
    });
    expect(httpError(429, text, { "retry-after": "99" }, "gemini").retryAfterMs).toBe(ms);
  });

  it("falls back to a retry-after header, and has no wait when neither says", () => {
    expect(httpError(503, body(503), { "retry-after": "3" }, "gemini").retryAfterMs).toBe(3_000);
    expect(httpError(503, body(503), {}, "gemini").retryAfterMs).toBeUndefined();
  });

  it("reads 400 API_KEY_INVALID as unauthenticated, and never repeats a key", () => {
    const key = "AIzaSyA1234567890abcdefghijklmnopqrstuv";
    const text = JSON.stringify({
      error: {
        code: 400,
        message: `API key not valid: ${key}. Please pass a valid API key.`,
        status: "INVALID_ARGUMENT",
        details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID" }],
      },
    });
    const error = httpError(400, text, {}, "gemini");
    expect(error).toMatchObject({ kind: "unauthenticated", retryable: false, status: 400 });
    expect(error.message).toContain("API key not valid");
    expect(error.message).not.toContain(key);
  });

  it("reads a non-JSON body (a proxy's page) by its status", () => {
    const error = httpError(502, "<html>Bad Gateway</html>", {}, "gemini");
    expect(error).toMatchObject({ kind: "unavailable", retryable: true });
    expect(error.message).toContain("Bad Gateway");
  });

  it("reads the error inside the JSON array of a stream without alt=sse", () => {
    const text = `[${body(429, { retryDelay: 4 })}]`;
    expect(httpError(429, text, {}, "gemini")).toMatchObject({
      kind: "resource_exhausted",
      retryAfterMs: 4_000,
    });
  });

  it("classifies an in-stream error by its code, else by its status name", () => {
    expect(streamError({ code: 500, status: "INTERNAL", message: "x" }, "gemini")).toMatchObject({
      kind: "internal",
      retryable: true,
      status: 500,
      reason: "UPSTREAM_STREAM_ERROR",
    });
    expect(streamError({ status: "DEADLINE_EXCEEDED" }, "gemini")).toMatchObject({
      kind: "deadline_exceeded",
      status: 504,
    });
  });
});
