import fc from "fast-check";
import type { HttpCase } from "./fuzz-case.js";
import { anyHeader, longValue, type OddHeader, stainlessTimeout } from "./header-values.js";
import { jsonPayload } from "./json-payloads.js";

const describe = (headers: OddHeader[]) =>
  headers.map((h) => `${h.name}: ${h.value.length > 40 ? `${h.value.length} chars` : h.value}`);

/** POST /v1/chat/completions with odd bodies, content types and headers (and GET /v1/models). */
export const openaiCase: fc.Arbitrary<HttpCase> = fc
  .record({
    transport: fc.constantFrom("h1" as const, "h2" as const),
    route: fc.oneof(
      { weight: 8, arbitrary: fc.constant({ method: "POST", path: "/v1/chat/completions" }) },
      fc.constantFrom(
        { method: "GET", path: "/v1/models" },
        { method: "POST", path: "/v1/models" },
        { method: "GET", path: "/v1/chat/completions" },
        { method: "POST", path: "/v1/chat/completions?stream=true&%zz" },
        { method: "POST", path: "/v1/chat/completions/" },
        { method: "POST", path: "/v1//chat/completions" },
      ),
    ),
    contentType: fc.oneof(
      { weight: 6, arbitrary: fc.constant("application/json") },
      fc.constantFrom(
        "Application/JSON; charset=utf-8",
        "application/json; charset=latin1",
        "application/json;;;",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/grpc",
        "application/jsonx",
        "",
        "(none)",
      ),
      longValue.map((v) => `application/json; x=${v}`),
    ),
    payload: jsonPayload("openai"),
    stream: fc.boolean(),
    headers: fc.array(fc.oneof(stainlessTimeout, anyHeader), { maxLength: 2 }),
  })
  .map((r): HttpCase => {
    let bytes = r.payload.bytes;
    if (r.stream && r.payload.label === "valid")
      bytes = new TextEncoder().encode(Buffer.from(bytes).toString().replace(/}$/, ',"stream":true}'));
    const headers: [string, string][] = r.contentType === "(none)" ? [] : [["content-type", r.contentType]];
    for (const h of r.headers) headers.push([h.name, h.value]);
    const chat = r.route.method === "POST" && r.route.path.startsWith("/v1/chat/completions?");
    const exact = r.route.method === "POST" && r.route.path === "/v1/chat/completions";
    const jsonType = /^application\/json(;|$)/i.test(r.contentType) && !r.contentType.includes("latin1");
    const mustSucceed =
      exact &&
      jsonType &&
      r.payload.label === "valid" &&
      r.headers.length > 0 &&
      r.headers.every((h) => h.harmless);
    return {
      kind: "http",
      protocol: "openai",
      mutation: [
        `${r.route.method} ${r.route.path}`,
        r.payload.label,
        `content-type ${r.contentType}`,
        ...describe(r.headers),
      ]
        .join("; ")
        .slice(0, 300),
      transport: r.transport,
      method: r.route.method,
      path: r.route.path,
      headers,
      body: r.route.method === "GET" ? new Uint8Array() : bytes,
      expect: exact || chat ? "openai" : "http-4xx",
      ...(mustSucceed ? { mustSucceed } : {}),
    };
  });

/** Plain HTTP: odd methods, paths and headers on every route. */
export const plainHttpCase: fc.Arbitrary<HttpCase> = fc
  .record({
    transport: fc.constantFrom("h1" as const, "h2" as const),
    method: fc.constantFrom("GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO", "POST"),
    path: fc.oneof(
      fc.constantFrom("/healthz", "/readyz", "/metrics", "/", "/favicon.ico", "/healthz/", "/HEALTHZ"),
      fc.constantFrom(
        "/%",
        "/%00",
        "/%ff",
        "/..",
        "/./healthz",
        "//healthz",
        "/healthz?%%%",
        "/healthz#x",
        "/?a=%zz",
      ),
      fc.integer({ min: 1_000, max: 12_000 }).map((n) => `/${"p".repeat(n)}`),
      fc.webPath().map((p) => (p.startsWith("/") ? p : `/${p}`)),
    ),
    headers: fc.array(anyHeader, { maxLength: 2 }),
    body: fc.option(fc.uint8Array({ maxLength: 200 }), { nil: undefined }),
  })
  .map(
    (r): HttpCase => ({
      kind: "http",
      protocol: "http",
      mutation: [
        `${r.method} ${r.path.length > 60 ? `${r.path.length}-char path` : r.path}`,
        ...describe(r.headers),
      ].join("; "),
      transport: r.transport,
      method: r.method,
      path: r.path,
      headers: r.headers.map((h) => [h.name, h.value]),
      body: r.method === "GET" || r.method === "HEAD" ? new Uint8Array() : (r.body ?? new Uint8Array()),
      expect: "http-4xx",
    }),
  );
