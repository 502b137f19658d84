import { describe, expect, it } from "vitest";
import { retryAfterMs } from "../../src/providers/retry-after.js";

const NOW = Date.parse("2026-12-02T00:00:00Z");

describe("retryAfterMs", () => {
  it("takes retry-after-ms (OpenAI, Azure) over retry-after", () => {
    expect(retryAfterMs({ "retry-after-ms": "1500", "retry-after": "7" }, NOW)).toBe(1_500);
    expect(retryAfterMs({ "retry-after-ms": "0" }, NOW)).toBe(0);
  });

  it("falls back to retry-after when retry-after-ms is unreadable or negative", () => {
    expect(retryAfterMs({ "retry-after-ms": "soon", "retry-after": "2" }, NOW)).toBe(2_000);
    expect(retryAfterMs({ "retry-after-ms": "-5", "retry-after": "2" }, NOW)).toBe(2_000);
    expect(retryAfterMs({ "retry-after-ms": "soon" }, NOW)).toBeUndefined();
  });

  it("reads retry-after as seconds, fractions included", () => {
    expect(retryAfterMs({ "retry-after": "7" }, NOW)).toBe(7_000);
    expect(retryAfterMs({ "retry-after": "1.5" }, NOW)).toBe(1_500);
    expect(retryAfterMs({ "retry-after": " 3 " }, NOW)).toBe(3_000);
    expect(retryAfterMs({ "retry-after": "-1" }, NOW)).toBeUndefined();
  });

  it("reads retry-after as an HTTP date, counted from now, never below zero", () => {
    expect(retryAfterMs({ "retry-after": "Wed, 02 Dec 2026 00:00:30 GMT" }, NOW)).toBe(30_000);
    expect(retryAfterMs({ "retry-after": "Tue, 01 Dec 2026 23:59:00 GMT" }, NOW)).toBe(0);
  });

  it("is undefined when absent, empty or unreadable", () => {
    expect(retryAfterMs({}, NOW)).toBeUndefined();
    expect(retryAfterMs({ "retry-after": "" }, NOW)).toBeUndefined();
    expect(retryAfterMs({ "retry-after": "   " }, NOW)).toBeUndefined();
    expect(retryAfterMs({ "retry-after": "in a while" }, NOW)).toBeUndefined();
  });
});
