import fc from "fast-check";
import type { HttpCase, Protocol } from "./fuzz-case.js";
import { envelope } from "./grpc-envelope.js";
import { anyHeader, connectTimeout, grpcTimeout, type OddHeader, stainlessTimeout } from "./header-values.js";
import { generateRequestBytes } from "./protobuf-wire.js";

const SERVICE = "/weaver.gateway.v1.GatewayService";
const harmless = (arbitrary: fc.Arbitrary<OddHeader>) => arbitrary.filter((h) => h.harmless);
const OPENAI_BODY = '{"model":"demo","messages":[{"role":"user","content":"hi"}],"max_tokens":3}';
const CONNECT_JSON = '{"model":"demo","messages":[{"role":"user","content":"hi"}],"maxTokens":3}';

interface Shape {
  protocol: Protocol;
  contentType: string;
  path: string;
  body: Uint8Array;
  headers: fc.Arbitrary<OddHeader>;
}

/** Valid calls of every protocol, each carrying a header that is unusual but legal: they must succeed. */
const shapes: fc.Arbitrary<Shape> = fc.constantFrom<Shape>(
  ...(["Generate", "GenerateStream"] as const).flatMap((method): Shape[] => [
    {
      protocol: "grpc",
      contentType: "application/grpc",
      path: `${SERVICE}/${method}`,
      body: envelope(generateRequestBytes()),
      headers: fc.oneof(harmless(grpcTimeout), harmless(anyHeader)),
    },
    {
      protocol: "grpc-web",
      contentType: "application/grpc-web+proto",
      path: `${SERVICE}/${method}`,
      body: envelope(generateRequestBytes()),
      headers: fc.oneof(harmless(grpcTimeout), harmless(anyHeader)),
    },
  ]),
  {
    protocol: "connect",
    contentType: "application/proto",
    path: `${SERVICE}/Generate`,
    body: generateRequestBytes(),
    headers: fc.oneof(harmless(connectTimeout), harmless(anyHeader)),
  },
  {
    protocol: "connect",
    contentType: "application/json",
    path: `${SERVICE}/Generate`,
    body: new TextEncoder().encode(CONNECT_JSON),
    headers: fc.oneof(harmless(connectTimeout), harmless(anyHeader)),
  },
  {
    protocol: "connect",
    contentType: "application/connect+proto",
    path: `${SERVICE}/GenerateStream`,
    body: envelope(generateRequestBytes()),
    headers: fc.oneof(harmless(connectTimeout), harmless(anyHeader)),
  },
  {
    protocol: "openai",
    contentType: "application/json",
    path: "/v1/chat/completions",
    body: new TextEncoder().encode(OPENAI_BODY),
    headers: fc.oneof(harmless(stainlessTimeout), harmless(anyHeader)),
  },
);

export const validCallCase: fc.Arbitrary<HttpCase> = shapes.chain((shape) =>
  fc
    .record({ header: shape.headers, transport: fc.constantFrom("h1" as const, "h2" as const) })
    .map(({ header, transport }): HttpCase => {
      const headers: [string, string][] = [["content-type", shape.contentType]];
      if (shape.protocol === "grpc") headers.push(["te", "trailers"]);
      headers.push([header.name, header.value]);
      return {
        kind: "http",
        protocol: shape.protocol,
        mutation: `valid ${shape.path.split("/").pop()}; ${header.name}: ${header.value.length > 40 ? `${header.value.length} chars` : header.value}`,
        transport: shape.protocol === "grpc" ? "h2" : transport,
        method: "POST",
        path: shape.path,
        headers,
        body: shape.body,
        expect:
          shape.protocol === "grpc" || shape.protocol === "grpc-web"
            ? shape.protocol
            : shape.protocol === "openai"
              ? "openai"
              : "connect",
        mustSucceed: true,
      };
    }),
);
