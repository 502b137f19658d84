import { brotliDecompressSync, gunzipSync } from "node:zlib";
import type { Exchange } from "./exchange.js";
import type { FuzzCase } from "./fuzz-case.js";
import { readEnvelopes } from "./grpc-envelope.js";

/** gRPC status codes by number; UNKNOWN (2) is a real code the gateway must never send for these cases. */
const GRPC_CODES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
];
const CONNECT_CODES = new Set(
  GRPC_CODES.slice(1).map((name) => name.toLowerCase().replace("cancelled", "canceled")),
);

/** What a leaked stack trace or source location looks like in an error message. */
const STACK_SIGNS: [RegExp, string][] = [
  [/\n\s+at /, "a stack frame"],
  [/\.(ts|js|mjs|cjs):\d+/, "a source line"],
  [/\/work\//, "a repository path"],
  [/node:internal/, "node:internal"],
];

/** How one case came out: a label for the summary, and what about it was not clean. */
export interface Verdict {
  outcome: string;
  problems: string[];
}

/** A request whose headers reach the gateway's header limit: a refusal or a close is as fair as an answer. */
function headersOverLimit(c: FuzzCase): boolean {
  if (c.kind === "raw") return false;
  const size =
    c.path.length + c.headers.reduce((sum, [name, value]) => sum + name.length + value.length + 4, 0);
  // server.connections.max_header_bytes (16 KiB) holds for HTTP/2 as for HTTP/1.1, and it counts
  // what this sum leaves out (HPACK's 32 bytes a field, the pseudo-headers): near it, either answer.
  return size > 15_000;
}

/** Methods Node's HTTP/1.1 parser (llhttp) does not know: it closes before the gateway sees the request. */
const LLHTTP_UNKNOWN_METHODS = new Set(["FOO"]);

/** connect-node serves a bidi stream (reflection) over HTTP/2 only, and answers 505 over HTTP/1.1. */
const bidiOverHttp1 = (c: FuzzCase, x: Exchange) =>
  c.kind === "http" && c.transport === "h1" && c.path.includes("ServerReflectionInfo") && x.status === 505;

export function judge(c: FuzzCase, x: Exchange): Verdict {
  if (x.unsent !== undefined) return { outcome: "unsent (harness)", problems: [] };
  if (bidiOverHttp1(c, x)) return { outcome: "http 505 (bidi over HTTP/1.1)", problems: [] };
  const refusedByParser = c.kind === "http" && c.transport === "h1" && LLHTTP_UNKNOWN_METHODS.has(c.method);
  // A request over the header limits may be refused by a close; answered, it is judged as usual.
  // A client that half-closes after its request has hung up as far as the gateway can tell (a FIN
  // is how a caller that left is told apart), so its call may be cancelled unanswered.
  const halfClosed = c.kind === "http" && c.halfClose === true;
  const closeAllowed =
    c.expect === "anything" ||
    c.expect === "answer-or-close" ||
    headersOverLimit(c) ||
    refusedByParser ||
    halfClosed;
  if (x.hung) {
    const problems = c.expect === "anything" ? [] : ["no answer and no close within the guard (a hang)"];
    return { outcome: "hang", problems };
  }
  if (x.status === undefined) {
    const outcome = x.ended ?? "closed";
    return { outcome, problems: closeAllowed ? [] : [`no HTTP answer: the connection ended (${outcome})`] };
  }
  // Over the header limits, Node's own refusal (431, 400) is as clean as any answer.
  if (headersOverLimit(c) && x.status >= 400 && x.status < 500 && x.headers["grpc-status"] === undefined)
    return { outcome: `http ${x.status} (headers over the limit)`, problems: [] };
  switch (c.expect) {
    case "grpc":
    case "grpc-web":
      return judgeGrpc(c, x, c.expect);
    case "connect":
      return judgeConnect(c, x);
    case "openai":
      return judgeOpenAI(c, x);
    default: {
      const problems = x.status >= 500 ? [`HTTP ${x.status}`] : [];
      if (x.status >= 400) problems.push(...leaks(x.body.toString()));
      return { outcome: `http ${x.status}`, problems };
    }
  }
}

function leaks(text: string): string[] {
  return STACK_SIGNS.filter(([pattern]) => pattern.test(text)).map(
    ([, what]) => `the answer leaks ${what}: ${JSON.stringify(text.slice(0, 300))}`,
  );
}

function decodeGrpcMessage(value: string | undefined): string {
  if (value === undefined) return "";
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Response encodings a gRPC-Web trailers frame may be compressed with (flag 0x01), as connect-node does. */
const DECOMPRESS: Record<string, (bytes: Buffer) => Buffer> = { gzip: gunzipSync, br: brotliDecompressSync };

/** gRPC-Web's trailers: a frame flagged 0x80 holding `name: value` lines, compressed when flagged 0x01. */
function grpcWebTrailers(body: Buffer, encoding: string | undefined): Record<string, string> {
  const frame = readEnvelopes(body).frames.find((f) => (f.flags & 0x80) !== 0);
  const fields: Record<string, string> = {};
  let payload = frame?.payload;
  if (payload && frame && (frame.flags & 0x01) !== 0) {
    const decompress = DECOMPRESS[encoding ?? ""];
    try {
      payload = decompress ? decompress(payload) : undefined;
    } catch {
      payload = undefined;
    }
  }
  for (const line of payload?.toString("latin1").split("\r\n") ?? []) {
    const colon = line.indexOf(":");
    if (colon > 0) fields[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return fields;
}

function judgeGrpc(c: FuzzCase, x: Exchange, protocol: "grpc" | "grpc-web"): Verdict {
  if (x.status !== 200) {
    return {
      outcome: `${protocol} http ${x.status}`,
      problems: [`HTTP ${x.status} instead of a gRPC status`, ...leaks(x.body.toString())],
    };
  }
  const web = protocol === "grpc-web" ? grpcWebTrailers(x.body, x.headers["grpc-encoding"]) : {};
  const fields = { ...web, ...x.trailers, ...x.headers };
  const raw = fields["grpc-status"];
  if (raw === undefined)
    return { outcome: `${protocol} no status`, problems: [`no grpc-status (ended: ${x.ended})`] };
  const code = Number(raw);
  const name = GRPC_CODES[code];
  if (!/^\d+$/.test(raw) || name === undefined)
    return { outcome: `${protocol} status ${raw}`, problems: [`grpc-status ${raw} is no code`] };
  const message = decodeGrpcMessage(fields["grpc-message"]);
  const problems = leaks(message);
  if (code === 2) problems.push(`UNKNOWN: ${message}`);
  if (c.kind === "http" && c.mustSucceed && code !== 0)
    problems.push(`a valid call failed ${name}: ${message}`);
  return { outcome: `${protocol} ${name}`, problems };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A Connect error body, `{"code": "...", "message": "..."}`, checked. */
function connectError(error: unknown, where: string): Verdict | undefined {
  if (typeof error !== "object" || error === null || typeof (error as { code?: unknown }).code !== "string")
    return undefined;
  const { code, message } = error as { code: string; message?: unknown };
  const text = typeof message === "string" ? message : "";
  const problems = leaks(text);
  if (code === "unknown") problems.push(`code "unknown" ${where}: ${text}`);
  else if (!CONNECT_CODES.has(code)) problems.push(`code "${code}" ${where} is no Connect code`);
  return { outcome: `connect ${code}`, problems };
}

function judgeConnect(c: FuzzCase, x: Exchange): Verdict {
  const mustSucceed = c.kind === "http" && c.mustSucceed;
  const type = x.headers["content-type"] ?? "";
  if (x.status === 200 && type.startsWith("application/connect+")) {
    const { frames } = readEnvelopes(x.body);
    const end = frames.find((f) => (f.flags & 0x02) !== 0);
    if (end === undefined)
      return {
        outcome: "connect stream without end",
        problems: [`a stream with no end-stream message (ended: ${x.ended})`],
      };
    const endJson = parseJson(end.payload.toString()) as { error?: unknown } | undefined;
    if (endJson?.error === undefined) return { outcome: "connect ok", problems: [] };
    const verdict = connectError(endJson.error, "in the end-stream message") ?? {
      outcome: "connect bad end-stream",
      problems: [`end-stream error is not a Connect error: ${end.payload.toString().slice(0, 200)}`],
    };
    if (mustSucceed) verdict.problems.push(`a valid call failed: ${end.payload.toString().slice(0, 200)}`);
    return verdict;
  }
  if (x.status === 200) return { outcome: "connect ok", problems: [] };
  const verdict = connectError(parseJson(x.body.toString()), `(HTTP ${x.status})`);
  if (verdict) {
    if (mustSucceed) verdict.problems.push(`a valid call failed: ${x.body.toString().slice(0, 200)}`);
    return verdict;
  }
  // The Connect spec lets routing answers (404, 405, 415) come without a body; a client maps the status.
  const status = x.status ?? 0;
  const problems = status >= 400 && status < 500 ? [] : [`HTTP ${status} without a Connect error`];
  if (mustSucceed) problems.push(`a valid call failed with HTTP ${x.status}`);
  return { outcome: `http ${x.status}`, problems: [...problems, ...leaks(x.body.toString())] };
}

function judgeOpenAI(c: FuzzCase, x: Exchange): Verdict {
  const status = x.status ?? 0;
  const mustSucceed = c.kind === "http" && c.mustSucceed;
  if (status >= 200 && status < 300) return { outcome: `openai ${status}`, problems: [] };
  const body = x.body.toString();
  const json = parseJson(body) as { error?: { message?: unknown } } | undefined;
  const problems: string[] = [];
  // A deadline the caller set (x-stainless-timeout) and the call outlived is a 504, as a gateway's timeout is.
  const ownDeadline =
    status === 504 &&
    c.kind === "http" &&
    c.headers.some(([name]) => name.toLowerCase() === "x-stainless-timeout") &&
    String(json?.error?.message).includes("deadline");
  if ((status < 400 || status >= 500) && !ownDeadline) problems.push(`HTTP ${status}: ${body.slice(0, 200)}`);
  if (typeof json?.error !== "object" || json.error === null)
    problems.push(`not an OpenAI error body: ${body.slice(0, 200)}`);
  problems.push(...leaks(typeof json?.error?.message === "string" ? json.error.message : body));
  if (mustSucceed) problems.push(`a valid call failed with HTTP ${status}: ${body.slice(0, 200)}`);
  return { outcome: `openai ${status}`, problems };
}
