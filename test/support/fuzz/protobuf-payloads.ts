import fc from "fast-check";
import {
  concat,
  generateRequestBytes,
  lenField,
  repeat,
  stringField,
  tag,
  varint,
  WIRE,
} from "./protobuf-wire.js";

/** A request message's bytes and what is wrong with them ("valid" when nothing is). */
export interface Payload {
  label: string;
  bytes: Uint8Array;
}

const bytes = (label: string, value: Uint8Array): Payload => ({ label, bytes: value });
const VALID = generateRequestBytes();

/** Valid UTF-8 it is not: a lone continuation byte, an overlong "/", a surrogate, a truncated sequence, 0xFF. */
const INVALID_UTF8 = [
  [0x80],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xe2, 0x82],
  [0xff, 0xfe],
  [0xf4, 0x90, 0x80, 0x80],
].map((b) => Uint8Array.from(b));

/** A varint of 11 bytes or more: longer than any 64-bit value. */
const hugeVarint = fc
  .integer({ min: 10, max: 40 })
  .map((n) => Uint8Array.from([...Array.from({ length: n }, () => 0xff), 0x01]));

/** Malformed (or, sometimes, valid) GenerateRequest bytes. */
export const protobufPayload: fc.Arbitrary<Payload> = fc.oneof(
  fc.constant(bytes("valid", VALID)),
  fc.uint8Array({ minLength: 1, maxLength: 96 }).map((b) => bytes("random bytes", b)),
  fc.integer({ min: 1, max: VALID.length - 1 }).map((n) => bytes("truncated message", VALID.subarray(0, n))),
  hugeVarint.map((v) => bytes("huge varint in max_tokens", concat(VALID, tag(4, WIRE.varint), v))),
  hugeVarint.map((v) => bytes("huge varint as a tag", concat(v, VALID))),
  hugeVarint.map((v) => bytes("huge varint as a length", concat(tag(1, WIRE.len), v, VALID))),
  fc
    .bigInt({ min: 2n ** 31n, max: 2n ** 64n - 1n })
    .map((n) => bytes("length past the end", concat(tag(1, WIRE.len), varint(n), VALID))),
  fc
    .integer({ min: 4, max: 4096 })
    .map((n) => bytes("length past the end", concat(tag(1, WIRE.len), varint(n), Uint8Array.of(0x61)))),
  fc
    .constantFrom(...INVALID_UTF8)
    .chain((bad) =>
      fc.constantFrom(
        bytes(
          "invalid UTF-8 in model",
          concat(lenField(1, concat(Uint8Array.of(0x64), bad)), VALID.subarray(6)),
        ),
        bytes(
          "invalid UTF-8 in content",
          generateRequestBytes({ content: concat(Uint8Array.of(0x68), bad) }),
        ),
        bytes("invalid UTF-8 in role", concat(VALID, lenField(2, lenField(1, bad)))),
        bytes(
          "invalid UTF-8 in a metadata key",
          concat(VALID, lenField(8, concat(lenField(1, bad), stringField(2, "v")))),
        ),
        bytes("invalid UTF-8 in stop", concat(VALID, lenField(7, bad))),
      ),
    ),
  fc.constantFrom(
    bytes("model as a varint", concat(tag(1, WIRE.varint), varint(7), VALID)),
    bytes("messages as fixed32", concat(VALID, tag(2, WIRE.fixed32), Uint8Array.of(1, 2, 3, 4))),
    bytes("field number 0", concat(tag(0, WIRE.varint), varint(1), VALID)),
    bytes("wire type 6", concat(Uint8Array.of((5 << 3) | 6), VALID)),
    bytes("wire type 7", concat(Uint8Array.of((5 << 3) | 7), VALID)),
    bytes("end group with no start", concat(VALID, tag(99, WIRE.endGroup))),
    bytes("unterminated group", concat(VALID, tag(99, WIRE.startGroup), varint(1))),
    bytes("temperature NaN", concat(VALID, tag(5, WIRE.fixed32), Uint8Array.of(0x00, 0x00, 0xc0, 0x7f))),
    bytes("max_tokens 2^64-1", concat(VALID, tag(4, WIRE.varint), varint(2n ** 64n - 1n))),
    bytes("field number 2^29-1", concat(VALID, tag(2 ** 29 - 1, WIRE.varint), varint(1))),
    bytes("empty message", new Uint8Array()),
  ),
  fc
    .oneof(fc.integer({ min: 1, max: 100 }), fc.constantFrom(1_000, 10_000, 100_000, 400_000))
    .map((depth) =>
      bytes(
        `unknown groups nested ${depth} deep`,
        concat(VALID, repeat(tag(99, WIRE.startGroup), depth), repeat(tag(99, WIRE.endGroup), depth)),
      ),
    ),
  fc
    .oneof(fc.integer({ min: 1, max: 50 }), fc.constantFrom(5_000, 100_000))
    .map((count) =>
      bytes(`${count} empty messages`, concat(VALID, repeat(lenField(2, new Uint8Array()), count))),
    ),
);
