import fc from "fast-check";

/** A header to add to an otherwise ordinary request, and whether a valid call must still succeed with it. */
export interface OddHeader {
  name: string;
  value: string;
  /** Legal by the protocol's own grammar and harmless: a valid call carrying it must succeed. */
  harmless: boolean;
}

const odd = (name: string, value: string, harmless = false): OddHeader => ({ name, value, harmless });

/** Printable ASCII only: node:http2 refuses to send anything else, and HTTP/1.1 parsers close on it. */
const printable = fc.string({
  unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 40,
});

/** Very long values, most under Node's 16 KiB HTTP/1.1 and 64 KiB HTTP/2 header limits, some over. */
export const longValue = fc
  .oneof(fc.integer({ min: 200, max: 8_000 }), fc.constantFrom(15_000, 20_000, 70_000, 200_000))
  .map((n) => "x".repeat(n));

/** grpc-timeout values: the grammar is 1-8 digits and a unit (H M S m u n). */
export const grpcTimeout: fc.Arbitrary<OddHeader> = fc.oneof(
  // Legal and long: from just past 2^31 ms (24.8 days) to 99999999 hours.
  fc
    .constantFrom("99999999H", "600H", "2147484S", "99999999M", "35791M")
    .map((v) => odd("grpc-timeout", v, true)),
  fc.constantFrom("1H", "2147483S", "3600000m").map((v) => odd("grpc-timeout", v, true)),
  fc.constantFrom("0n", "1n", "0m", "1u").map((v) => odd("grpc-timeout", v)),
  fc
    .constantFrom("123456789S", "-1S", "1", "S", "1.5S", "1x", " 1S", "1S,2S", "NaNS", "1e9S", "")
    .map((v) => odd("grpc-timeout", v)),
  printable.map((v) => odd("grpc-timeout", v)),
  longValue.map((v) => odd("grpc-timeout", `${v.replaceAll("x", "9")}S`)),
);

/** connect-timeout-ms values: the grammar is 1-10 digits. */
export const connectTimeout: fc.Arbitrary<OddHeader> = fc.oneof(
  fc.constantFrom("9999999999", "2147483648", "4294967296").map((v) => odd("connect-timeout-ms", v, true)),
  fc.constantFrom("2147483647", "3600000").map((v) => odd("connect-timeout-ms", v, true)),
  fc.constantFrom("0", "1").map((v) => odd("connect-timeout-ms", v)),
  fc
    .constantFrom("99999999999", "-1", "1.5", "abc", "1e3", "0x10", "", " 5", "Infinity")
    .map((v) => odd("connect-timeout-ms", v)),
  printable.map((v) => odd("connect-timeout-ms", v)),
);

/** x-stainless-timeout: the OpenAI SDKs' timeout in seconds. */
export const stainlessTimeout: fc.Arbitrary<OddHeader> = fc.oneof(
  fc.constantFrom("2147484", "99999999999", "1e300", "1e308").map((v) => odd("x-stainless-timeout", v, true)),
  fc.constantFrom("600", "3600").map((v) => odd("x-stainless-timeout", v, true)),
  fc
    .constantFrom("-1", "0", "abc", "NaN", "Infinity", "-Infinity", "1e-9", "0x10", "")
    .map((v) => odd("x-stainless-timeout", v)),
  printable.map((v) => odd("x-stainless-timeout", v)),
);

/** Encodings no server has, and the ones it may have. */
export const encodingName = fc.oneof(
  fc.constantFrom(
    "identity",
    "gzip",
    "br",
    "deflate",
    "zstd",
    "snappy",
    "",
    "GZIP",
    "gzip, br",
    "*",
    "x-unknown",
  ),
  printable,
  longValue,
);

/** Anything else a caller may send: long values under odd names, and the RPC headers' own names. */
export const anyHeader: fc.Arbitrary<OddHeader> = fc.oneof(
  longValue.map((v) => odd("x-long", v, v.length < 8_000)),
  longValue.map((v) => odd("user-agent", v, v.length < 8_000)),
  fc.constantFrom("0", "2", "x", "1.0", "").map((v) => odd("connect-protocol-version", v)),
  printable.map((v) => odd("grpc-accept-encoding", v, true)),
  printable.map((v) => odd("accept-encoding", v, true)),
  printable.map((v) => odd("te", v)),
  fc.constantFrom("%", "%zz", "%ff%fe", "a\tb").map((v) => odd("grpc-message", v, true)),
  fc.constantFrom("AAAA", "!!!", "").map((v) => odd("grpc-status-details-bin", v, true)),
  fc
    .constantFrom("-5", "abc", "99999999999999999999", "1, 2")
    .map((v) => odd("content-length-hint", v, true)),
);
