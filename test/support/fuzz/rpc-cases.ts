import fc from "fast-check";
import type { Expectation, HttpCase, Protocol } from "./fuzz-case.js";
import { envelope } from "./grpc-envelope.js";
import { anyHeader, connectTimeout, encodingName, grpcTimeout, type OddHeader } from "./header-values.js";
import { jsonPayload } from "./json-payloads.js";
import { type Payload, protobufPayload } from "./protobuf-payloads.js";

const SERVICE = "/weaver.gateway.v1.GatewayService";
/** Methods that take a GenerateRequest-shaped body, and the ones that take an empty one. */
const METHODS = ["Generate", "GenerateStream", "PoolStats", "ListModels"] as const;

/** A path to a real method, or an odd one (which a 4xx answers, before any protocol applies). */
const rpcPath = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.constantFrom(...METHODS).map((m) => ({ path: `${SERVICE}/${m}`, method: m, odd: false })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        "/grpc.health.v1.Health/Check",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      )
      .map((path) => ({ path, method: "other", odd: false })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        "/",
        `${SERVICE}/`,
        `${SERVICE}/Nope`,
        `${SERVICE}/generate`,
        `/${SERVICE}/Generate`,
        `${SERVICE}/Generate/extra`,
        "/weaver.gateway.v1.GatewayService%2FGenerate",
        "/%ff%fe",
        "/%",
        "/../../etc/passwd",
        `/${"a".repeat(5_000)}`,
      )
      .map((path) => ({ path, method: "odd path", odd: true })),
  },
);

/** How the one request message is framed: whole, or with a lying length, a flag, or cut short. */
const framing = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ label: "framed", frame: (p: Uint8Array) => envelope(p) }) },
  fc.integer({ min: 1, max: 2 ** 32 - 1 }).map((extra) => ({
    label: "length larger than the body",
    frame: (p: Uint8Array) => envelope(p, 0, Math.min(2 ** 32 - 1, p.length + extra)),
  })),
  fc.integer({ min: 1, max: 64 }).map((less) => ({
    label: "length smaller than the body",
    frame: (p: Uint8Array) => envelope(p, 0, Math.max(0, p.length - less)),
  })),
  fc.integer({ min: 0, max: 4 }).map((keep) => ({
    label: `cut to ${keep} prefix bytes`,
    frame: (p: Uint8Array) => envelope(p).subarray(0, keep),
  })),
  fc.constantFrom(0x01, 0x02, 0x03, 0x80, 0x81, 0xff).map((flags) => ({
    label: `flags 0x${flags.toString(16)}`,
    frame: (p: Uint8Array) => envelope(p, flags),
  })),
  fc.constant({ label: "two messages", frame: (p: Uint8Array) => Buffer.concat([envelope(p), envelope(p)]) }),
);

interface Parts {
  protocol: Protocol;
  transport: "h1" | "h2";
  path: { path: string; method: string; odd: boolean };
  contentType: string;
  /** Whether the content type is one this protocol serves. */
  typeKnown: boolean;
  headers: OddHeader[];
  payload: Payload;
  framingLabel: string;
  body: Uint8Array;
  expect: Expectation;
}

function toCase(p: Parts): HttpCase {
  const odd = p.headers.map((h) => `${h.name}: ${h.value.length > 40 ? `${h.value.length} chars` : h.value}`);
  const mutation = [
    p.payload.label,
    p.framingLabel,
    ...(p.typeKnown ? [] : [`content-type ${p.contentType}`]),
    ...odd,
  ]
    .filter((s) => s !== "")
    .join("; ");
  const mustSucceed =
    !p.path.odd &&
    p.typeKnown &&
    (p.path.method === "Generate" || p.path.method === "GenerateStream") &&
    p.payload.label === "valid" &&
    (p.framingLabel === "framed" || p.framingLabel === "") &&
    p.headers.length > 0 &&
    p.headers.every((h) => h.harmless) &&
    // Two legal values under one name join into one illegal one ("1S, 2S").
    new Set(p.headers.map((h) => h.name)).size === p.headers.length;
  const headers: [string, string][] = [["content-type", p.contentType]];
  if (p.protocol === "grpc") headers.push(["te", "trailers"]);
  if (p.protocol === "grpc-web") headers.push(["x-grpc-web", "1"]);
  for (const h of p.headers) headers.push([h.name, h.value]);
  return {
    kind: "http",
    protocol: p.protocol,
    mutation: mutation || "valid",
    transport: p.transport,
    method: "POST",
    path: p.path.path,
    headers,
    body: p.body,
    expect: p.path.odd || !p.typeKnown ? "http-4xx" : p.expect,
    ...(mustSucceed ? { mustSucceed } : {}),
  };
}

const grpcHeaders = fc.array(
  fc.oneof(
    grpcTimeout,
    encodingName.map((v): OddHeader => ({ name: "grpc-encoding", value: v, harmless: v === "identity" })),
    anyHeader,
  ),
  { maxLength: 2 },
);

/** gRPC (HTTP/2 only) and gRPC-Web (HTTP/1.1 and HTTP/2): enveloped protobuf, or JSON for +json. */
export const grpcCase = (protocol: "grpc" | "grpc-web"): fc.Arbitrary<HttpCase> =>
  fc
    .record({
      transport:
        protocol === "grpc" ? fc.constant("h2" as const) : fc.constantFrom("h1" as const, "h2" as const),
      path: rpcPath,
      type: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom("", "+proto").map((s) => ({ suffix: s, known: true })) },
        fc.constantFrom("+json", "+json; charset=utf-8").map((s) => ({ suffix: s, known: true })),
        fc
          .constantFrom("+xml", "+thrift", "-text", "/x", "; charset=utf-8")
          .map((s) => ({ suffix: s, known: false })),
      ),
      payload: protobufPayload,
      json: jsonPayload("rpc"),
      framing,
      headers: grpcHeaders,
    })
    .map((r) => {
      const contentType = `application/${protocol}${r.type.suffix}`;
      const payload = r.type.suffix.startsWith("+json") ? r.json : r.payload;
      return toCase({
        protocol,
        transport: r.transport,
        path: r.path,
        contentType,
        // connect-node takes a charset after +json only, and does not serve gRPC-Web's base64 "-text" form.
        typeKnown: r.type.known,
        headers: r.headers,
        payload,
        framingLabel: r.framing.label,
        body: r.framing.frame(payload.bytes),
        expect: protocol,
      });
    });

const connectHeaders = fc.array(
  fc.oneof(
    connectTimeout,
    encodingName.map((v): OddHeader => ({ name: "content-encoding", value: v, harmless: v === "identity" })),
    encodingName.map(
      (v): OddHeader => ({ name: "connect-content-encoding", value: v, harmless: v === "identity" }),
    ),
    anyHeader,
  ),
  { maxLength: 2 },
);

/** Connect POST: a unary body as is (proto or JSON), GenerateStream's as enveloped messages. */
export const connectPostCase: fc.Arbitrary<HttpCase> = fc
  .record({
    transport: fc.constantFrom("h1" as const, "h2" as const),
    path: rpcPath,
    codec: fc.constantFrom("proto", "json"),
    typeOdd: fc.oneof(
      { weight: 8, arbitrary: fc.constant(undefined) },
      fc.constantFrom(
        "text/plain",
        "application/xml",
        "application/connect+xml",
        "application/",
        "",
        "application/json; charset=latin1",
      ),
    ),
    payload: protobufPayload,
    json: jsonPayload("rpc"),
    framing,
    headers: connectHeaders,
    version: fc.constantFrom(["connect-protocol-version", "1"] as const, undefined),
  })
  .map((r) => {
    const streaming = r.path.method === "GenerateStream";
    const payload = r.codec === "json" ? r.json : r.payload;
    const contentType =
      r.typeOdd ?? (streaming ? `application/connect+${r.codec}` : `application/${r.codec}`);
    const headers = r.version
      ? [{ name: r.version[0], value: r.version[1], harmless: true }, ...r.headers]
      : r.headers;
    return toCase({
      protocol: "connect",
      transport: r.transport,
      path: r.path,
      contentType,
      typeKnown: r.typeOdd === undefined,
      headers,
      payload,
      framingLabel: streaming ? r.framing.label : "",
      body: streaming ? r.framing.frame(payload.bytes) : payload.bytes,
      expect: "connect",
    });
  });

/** A query parameter value, percent-encoded or deliberately not. */
const queryValue = fc.oneof(
  fc.constantFrom(
    "json",
    "proto",
    "xml",
    "",
    "JSON",
    "%",
    "%zz",
    "%ff",
    "1",
    "0",
    "v1",
    "v2",
    "gzip",
    "br",
    "identity",
  ),
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
  fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b).toString("base64url")),
  fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b).toString("base64")),
  fc.integer({ min: 2_000, max: 40_000 }).map((n) => "A".repeat(n)),
);

/** Connect GET: `?connect=v1&encoding=..&message=..[&base64=1][&compression=..]`, each part maybe wrong. */
export const connectGetCase: fc.Arbitrary<HttpCase> = fc
  .record({
    transport: fc.constantFrom("h1" as const, "h2" as const),
    method: fc.constantFrom("ListModels", "PoolStats", "Generate", "GenerateStream", "Nope"),
    encoding: fc.option(queryValue, { nil: undefined }),
    message: fc.oneof(
      fc.constant({ label: "valid empty JSON", value: "%7B%7D" }),
      jsonPayload("rpc").map((p) => ({
        label: `JSON ${p.label}`,
        value: encodeURIComponent(Buffer.from(p.bytes).toString("latin1")),
      })),
      protobufPayload.map((p) => ({
        label: `base64 proto ${p.label}`,
        value: Buffer.from(p.bytes).toString("base64url"),
      })),
      queryValue.map((v) => ({ label: "odd message", value: v })),
    ),
    base64: fc.option(queryValue, { nil: undefined }),
    compression: fc.option(queryValue, { nil: undefined }),
    connect: fc.option(queryValue, { nil: undefined }),
    headers: fc.array(fc.oneof(connectTimeout, anyHeader), { maxLength: 1 }),
  })
  .map((r): HttpCase => {
    const params: string[] = [];
    if (r.connect !== undefined) params.push(`connect=${r.connect}`);
    if (r.encoding !== undefined) params.push(`encoding=${r.encoding}`);
    params.push(
      `message=${r.message.value.length > 60_000 ? r.message.value.slice(0, 60_000) : r.message.value}`,
    );
    if (r.base64 !== undefined) params.push(`base64=${r.base64}`);
    if (r.compression !== undefined) params.push(`compression=${r.compression}`);
    const query = params.join("&");
    const odd = r.headers.map(
      (h) => `${h.name}: ${h.value.length > 40 ? `${h.value.length} chars` : h.value}`,
    );
    return {
      kind: "http",
      protocol: "connect-get",
      mutation: [`GET ${r.method}`, r.message.label, ...odd].join("; "),
      transport: r.transport,
      method: "GET",
      path: `${SERVICE}/${r.method}?${query}`,
      headers: r.headers.map((h) => [h.name, h.value]),
      body: new Uint8Array(),
      expect: "connect",
    };
  });
