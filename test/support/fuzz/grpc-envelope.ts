/**
 * One enveloped message as gRPC, gRPC-Web and Connect streaming frame it: a flags byte, a
 * 4-byte big-endian length, the payload. `declaredLength` lets the length lie.
 */
export function envelope(payload: Uint8Array, flags = 0, declaredLength = payload.length): Uint8Array {
  const head = Buffer.alloc(5);
  head.writeUInt8(flags & 0xff, 0);
  head.writeUInt32BE(declaredLength >>> 0, 1);
  return Uint8Array.from(Buffer.concat([head, payload]));
}

/** A gRPC-Web or Connect streaming response split into its frames; `rest` is what no whole frame held. */
export function readEnvelopes(body: Uint8Array): {
  frames: { flags: number; payload: Buffer }[];
  rest: number;
} {
  const bytes = Buffer.from(body);
  const frames: { flags: number; payload: Buffer }[] = [];
  let offset = 0;
  while (offset + 5 <= bytes.length) {
    const length = bytes.readUInt32BE(offset + 1);
    if (offset + 5 + length > bytes.length) break;
    frames.push({ flags: bytes.readUInt8(offset), payload: bytes.subarray(offset + 5, offset + 5 + length) });
    offset += 5 + length;
  }
  return { frames, rest: bytes.length - offset };
}
