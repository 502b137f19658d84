// Protocol Buffers wire format by hand, so a case can hold exactly the bytes it means to send,
// malformed ones included (protobuf-es will only write valid messages).

export const WIRE = { varint: 0, fixed64: 1, len: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const;

export function varint(value: number | bigint): Uint8Array {
  let n = BigInt(value);
  if (n < 0n) n = BigInt.asUintN(64, n);
  const bytes: number[] = [];
  do {
    const low = Number(n & 0x7fn);
    n >>= 7n;
    bytes.push(n === 0n ? low : low | 0x80);
  } while (n !== 0n);
  return Uint8Array.from(bytes);
}

export function tag(field: number, wireType: number): Uint8Array {
  return varint((BigInt(field) << 3n) | BigInt(wireType));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

/** `bytes` `times` over, without spreading a huge argument list. */
export function repeat(bytes: Uint8Array, times: number): Uint8Array {
  return Uint8Array.from(Buffer.concat(Array.from({ length: times }, () => bytes)));
}

/** A length-delimited field holding `payload`. */
export function lenField(field: number, payload: Uint8Array): Uint8Array {
  return concat(tag(field, WIRE.len), varint(payload.length), payload);
}

export function stringField(field: number, text: string): Uint8Array {
  return lenField(field, new TextEncoder().encode(text));
}

/** A GenerateRequest (or GenerateStreamRequest: same fields) for the demo model, valid unless told. */
export function generateRequestBytes(
  options: { model?: string; content?: Uint8Array; maxTokens?: number } = {},
) {
  const content = options.content ?? new TextEncoder().encode("hello");
  const message = concat(stringField(1, "user"), lenField(2, content));
  return concat(
    stringField(1, options.model ?? "demo"),
    lenField(2, message),
    tag(4, WIRE.varint),
    varint(options.maxTokens ?? 3),
  );
}
