import fc from "fast-check";
import type { RawCase } from "./fuzz-case.js";

const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/** An HTTP/2 frame: 3-byte length (which may lie), type, flags, 31-bit stream id, payload. */
function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Uint8Array,
  length = payload.length,
): Uint8Array {
  const head = Buffer.alloc(9);
  head.writeUIntBE(length & 0xffffff, 0, 3);
  head.writeUInt8(type, 3);
  head.writeUInt8(flags, 4);
  head.writeUInt32BE(stream >>> 0, 5);
  return Uint8Array.from(Buffer.concat([head, payload]));
}

const raw = (mutation: string, bytes: Uint8Array, afterPreface: boolean): RawCase => ({
  kind: "raw",
  protocol: afterPreface ? "raw-after-preface" : "raw-cleartext",
  mutation,
  afterPreface,
  bytes,
  expect: "anything",
});

const text = (s: string) => new TextEncoder().encode(s);

/** Garbage on a fresh cleartext connection: random bytes, broken request lines, a cut-off preface. */
const cleartext = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 2048 }).map((b) => raw("random bytes", b, false)),
  fc
    .integer({ min: 1, max: 23 })
    .map((n) => raw(`preface cut to ${n} bytes`, text(PREFACE.slice(0, n)), false)),
  fc
    .uint8Array({ minLength: 1, maxLength: 200 })
    .map((b) =>
      raw(
        "request line then garbage",
        Uint8Array.from(Buffer.concat([text("POST / HTTP/1.1\r\n"), b])),
        false,
      ),
    ),
  fc
    .constantFrom(
      "GET / HTTP/9.9\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n",
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model"',
      "POST /weaver.gateway.v1.GatewayService/Generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX: \x01\x02\r\n\r\n",
      "GET /healthz HTTP/1.1\r\n Folded: header\r\n\r\n",
      "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n",
      "\r\n\r\n\r\n\r\n",
    )
    .map((s) => raw("broken HTTP/1.1", Uint8Array.from(Buffer.from(s, "latin1")), false)),
);

/** Bytes after a valid preface and an empty SETTINGS frame: random, or frames that break a rule. */
const afterPreface = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 2048 }).map((b) => raw("random bytes", b, true)),
  fc
    .record({
      type: fc.integer({ min: 0, max: 12 }),
      flags: fc.integer({ min: 0, max: 255 }),
      stream: fc.oneof(fc.constantFrom(0, 1, 2, 3, 2 ** 31 - 1), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
      payload: fc.uint8Array({ maxLength: 64 }),
      lie: fc.option(fc.integer({ min: 0, max: 0xffffff }), { nil: undefined }),
    })
    .map((f) =>
      raw(
        `frame type ${f.type} flags ${f.flags} stream ${f.stream}${f.lie === undefined ? "" : ` length ${f.lie}`}`,
        frame(f.type, f.flags, f.stream, f.payload, f.lie),
        true,
      ),
    ),
  fc
    .uint8Array({ minLength: 1, maxLength: 200 })
    .map((hpack) => raw("HEADERS with garbage HPACK", frame(1, 0x05, 1, hpack), true)),
  fc
    .integer({ min: 10, max: 2000 })
    .map((n) =>
      raw(
        `HEADERS then ${n} CONTINUATION frames`,
        Uint8Array.from(
          Buffer.concat([
            frame(1, 0, 1, Uint8Array.of(0x82)),
            ...Array.from({ length: n }, () => frame(9, 0, 1, Uint8Array.of(0x40, 1, 0x61, 1, 0x62))),
          ]),
        ),
        true,
      ),
    ),
  fc
    .integer({ min: 100, max: 5000 })
    .map((n) =>
      raw(
        `${n} PINGs`,
        Uint8Array.from(Buffer.concat(Array.from({ length: n }, () => frame(6, 0, 0, new Uint8Array(8))))),
        true,
      ),
    ),
  fc.constantFrom(
    raw("SETTINGS_INITIAL_WINDOW_SIZE 2^31", frame(4, 0, 0, Uint8Array.of(0, 4, 0x80, 0, 0, 0)), true),
    raw("SETTINGS_MAX_FRAME_SIZE 1", frame(4, 0, 0, Uint8Array.of(0, 5, 0, 0, 0, 1)), true),
    raw("WINDOW_UPDATE 0", frame(8, 0, 0, Uint8Array.of(0, 0, 0, 0)), true),
    raw("DATA on stream 0", frame(0, 1, 0, text("x")), true),
    raw("PRIORITY on itself", frame(2, 0, 1, Uint8Array.of(0, 0, 0, 1, 16)), true),
    raw("RST_STREAM on an idle stream", frame(3, 0, 5, Uint8Array.of(0, 0, 0, 8)), true),
    raw("GOAWAY from the client", frame(7, 0, 0, Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0)), true),
    raw("PUSH_PROMISE from the client", frame(5, 4, 1, Uint8Array.of(0, 0, 0, 2, 0x82)), true),
  ),
);

export const rawCase: fc.Arbitrary<RawCase> = fc.oneof(cleartext, afterPreface);
