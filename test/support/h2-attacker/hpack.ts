/**
 * Just enough HPACK (RFC 7541) to open a gRPC stream: static-table indexes, and literals without
 * indexing, never Huffman-coded. Such a block leaves the server's dynamic table untouched, so the
 * same bytes can open every stream of a connection.
 */

/** Static table entries (RFC 7541, appendix A) used below. */
const STATIC = {
  authority: 1,
  methodPost: 3,
  path: 4,
  schemeHttp: 6,
  contentType: 31,
} as const;

/** An integer with an N-bit prefix (RFC 7541, section 5.1); `first` holds the bits above the prefix. */
export function hpackInteger(value: number, prefixBits: number, first = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([first | value]);
  const bytes = [first | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** A string literal, not Huffman-coded (H bit 0). */
function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, "latin1");
  return Buffer.concat([hpackInteger(bytes.length, 7), bytes]);
}

/** A field whose whole name and value are in the static table (section 6.1). */
const indexed = (index: number): Buffer => hpackInteger(index, 7, 0x80);

/** Literal without indexing, the name from the static table (section 6.2.2). */
const literalIndexedName = (index: number, value: string): Buffer =>
  Buffer.concat([hpackInteger(index, 4), hpackString(value)]);

/** Literal without indexing, a new name. */
const literalNewName = (name: string, value: string): Buffer =>
  Buffer.concat([Buffer.from([0x00]), hpackString(name), hpackString(value)]);

/** The header block of a gRPC call: POST, http, the method's path, application/grpc, te: trailers. */
export function grpcRequestHeaderBlock(authority: string, path: string): Buffer {
  return Buffer.concat([
    indexed(STATIC.methodPost),
    indexed(STATIC.schemeHttp),
    literalIndexedName(STATIC.path, path),
    literalIndexedName(STATIC.authority, authority),
    literalIndexedName(STATIC.contentType, "application/grpc"),
    literalNewName("te", "trailers"),
  ]);
}
