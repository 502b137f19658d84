/** Which protocol a case speaks on the port (the summary counts cases by it). */
export type Protocol =
  | "grpc"
  | "grpc-web"
  | "connect"
  | "connect-get"
  | "openai"
  | "http"
  | "raw-cleartext"
  | "raw-after-preface";

/**
 * What a clean answer looks like for a case:
 * - grpc / grpc-web: a grpc-status that is a real code, never UNKNOWN, with no stack in grpc-message;
 * - connect: a JSON error whose code is not "unknown" (or a success);
 * - openai: a 4xx with `{"error":{...}}` (or a success);
 * - http-4xx: any 4xx;
 * - answer-or-close: a 4xx, or the connection closed or reset (framing the server may refuse outright);
 * - anything: the connection may get any answer or none; only the process's survival counts.
 */
export type Expectation =
  | "grpc"
  | "grpc-web"
  | "connect"
  | "openai"
  | "http-4xx"
  | "answer-or-close"
  | "anything";

/** One HTTP request, sent as is over HTTP/1.1 (a raw socket) or HTTP/2 (node:http2). */
export interface HttpCase {
  kind: "http";
  protocol: Protocol;
  /** What was malformed, e.g. "length prefix larger than the body". */
  mutation: string;
  transport: "h1" | "h2";
  method: string;
  path: string;
  headers: [name: string, value: string][];
  body: Uint8Array;
  expect: Expectation;
  /** HTTP/1.1 only: the client shuts its side of the connection once the request is written. */
  halfClose?: boolean;
  /** A valid call whose headers are only unusual: it must succeed, not just fail cleanly. */
  mustSucceed?: boolean;
}

/** Bytes written to a fresh connection, cleartext or after a valid HTTP/2 preface and SETTINGS. */
export interface RawCase {
  kind: "raw";
  protocol: Protocol;
  mutation: string;
  afterPreface: boolean;
  bytes: Uint8Array;
  expect: "anything";
}

export type FuzzCase = HttpCase | RawCase;

/** The case as one JSON line, bytes in base64: what a report prints to reproduce it by hand. */
export function caseJson(c: FuzzCase): string {
  const { kind, protocol, mutation } = c;
  if (c.kind === "raw")
    return JSON.stringify({ kind, protocol, mutation, afterPreface: c.afterPreface, base64: b64(c.bytes) });
  const headers = c.headers.map(([name, value]) => [name, value.length > 200 ? abbreviate(value) : value]);
  return JSON.stringify({
    kind,
    protocol,
    mutation,
    transport: c.transport,
    method: c.method,
    path: c.path.length > 300 ? abbreviate(c.path) : c.path,
    headers,
    bodyBase64:
      c.body.length > 600 ? `${b64(c.body.subarray(0, 200))}... (${c.body.length} bytes)` : b64(c.body),
    ...(c.halfClose ? { halfClose: true } : {}),
    ...(c.mustSucceed ? { mustSucceed: true } : {}),
  });
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

function abbreviate(text: string): string {
  return `${text.slice(0, 80)}...(${text.length} chars)`;
}
