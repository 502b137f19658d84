import fc from "fast-check";
import type { Payload } from "./protobuf-payloads.js";

const text = (label: string, value: string): Payload => ({ label, bytes: new TextEncoder().encode(value) });
const raw = (label: string, value: number[] | Uint8Array): Payload => ({
  label,
  bytes: Uint8Array.from(value),
});

/** How a body nests: arrays, objects, or both, around a valid-looking request or in place of one. */
const nesting = fc.record({
  depth: fc.oneof(fc.integer({ min: 1, max: 2_000 }), fc.constantFrom(10_000, 100_000, 600_000)),
  shape: fc.constantFrom("array", "object", "in messages", "in content"),
});

function nested({ depth, shape }: { depth: number; shape: string }, field: "rpc" | "openai"): Payload {
  const label = `JSON nested ${depth} deep (${shape})`;
  const maxKey = field === "rpc" ? "maxTokens" : "max_tokens";
  switch (shape) {
    case "array":
      return text(label, `${"[".repeat(depth)}${"]".repeat(depth)}`);
    case "object":
      return text(label, `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`);
    case "in messages":
      return text(
        label,
        `{"model":"demo","messages":${"[".repeat(depth)}${"]".repeat(depth)},"${maxKey}":3}`,
      );
    default:
      return text(
        label,
        `{"model":"demo","messages":[{"role":"user","content":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}]}`,
      );
  }
}

/** JSON request bodies, mostly wrong: `field` picks GenerateRequest's names or OpenAI's. */
export function jsonPayload(field: "rpc" | "openai"): fc.Arbitrary<Payload> {
  const maxKey = field === "rpc" ? "maxTokens" : "max_tokens";
  const valid = `{"model":"demo","messages":[{"role":"user","content":"hi"}],"${maxKey}":3}`;
  return fc.oneof(
    fc.constant(text("valid", valid)),
    nesting.map((n) => nested(n, field)),
    fc
      .oneof(
        fc.integer({ min: 1, max: 5_000 }),
        fc.constantFrom(1024 * 1024 + 1, 4 * 1024 * 1024 + 1, 6 * 1024 * 1024),
      )
      .map((size) =>
        text(
          `${size} bytes of content`,
          `{"model":"demo","messages":[{"role":"user","content":"${"x".repeat(size)}"}]}`,
        ),
      ),
    fc
      .oneof(fc.integer({ min: 0, max: 100 }), fc.constantFrom(10_000, 150_000))
      .map((n) =>
        text(
          `${n} messages`,
          `{"model":"demo","messages":[${Array(n).fill('{"role":"user","content":"a"}').join(",")}]}`,
        ),
      ),
    fc.string({ maxLength: 200 }).map((s) => text("arbitrary text", s)),
    fc.json({ maxDepth: 4 }).map((s) => text("arbitrary JSON", s)),
    fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => raw("random bytes", b)),
    fc.constantFrom(
      text("truncated JSON", valid.slice(0, 30)),
      text("empty body", ""),
      text("null", "null"),
      text("a string", '"demo"'),
      text("model as a number", `{"model":1,"messages":[{"role":"user","content":"hi"}]}`),
      text("messages as an object", `{"model":"demo","messages":{"role":"user","content":"hi"}}`),
      text("content as an array", `{"model":"demo","messages":[{"role":"user","content":[1,2]}]}`),
      text("content as null", `{"model":"demo","messages":[{"role":"user","content":null}]}`),
      text("role missing", `{"model":"demo","messages":[{"content":"hi"}]}`),
      text(
        "lone surrogate escape",
        `{"model":"demo\\ud800","messages":[{"role":"user","content":"\\udfff"}]}`,
      ),
      text(
        `${maxKey} 1e400`,
        `{"model":"demo","messages":[{"role":"user","content":"hi"}],"${maxKey}":1e400}`,
      ),
      text(`${maxKey} -1`, `{"model":"demo","messages":[{"role":"user","content":"hi"}],"${maxKey}":-1}`),
      text(
        `${maxKey} 2^53`,
        `{"model":"demo","messages":[{"role":"user","content":"hi"}],"${maxKey}":9007199254740993}`,
      ),
      text(
        `${maxKey} as text`,
        `{"model":"demo","messages":[{"role":"user","content":"hi"}],"${maxKey}":"abc"}`,
      ),
      text(
        "temperature as text",
        `{"model":"demo","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}`,
      ),
      text("unknown field", `{"model":"demo","messages":[{"role":"user","content":"hi"}],"bogus":1}`),
      text("duplicate keys", `{"model":"demo","model":"x","messages":[{"role":"user","content":"hi"}]}`),
      text(
        "__proto__ key",
        `{"__proto__":{"model":"x"},"model":"demo","messages":[{"role":"user","content":"hi"}]}`,
      ),
      text("stream as text", `{"model":"demo","messages":[{"role":"user","content":"hi"}],"stream":"yes"}`),
      text(
        "stream_options wrong",
        `{"model":"demo","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":7}`,
      ),
      text("metadata wrong", `{"model":"demo","messages":[{"role":"user","content":"hi"}],"metadata":[1]}`),
      text("stop as a number", `{"model":"demo","messages":[{"role":"user","content":"hi"}],"stop":5}`),
      text("BOM first", `\ufeff${valid}`),
      raw("invalid UTF-8 in content", [
        ...new TextEncoder().encode('{"model":"demo","messages":[{"role":"user","content":"'),
        0xff,
        0xc0,
        0xaf,
        0xed,
        0xa0,
        0x80,
        ...new TextEncoder().encode('"}]}'),
      ]),
      raw("UTF-16 body", Buffer.from(valid, "utf16le")),
      text("NUL in model", `{"model":"demo\\u0000","messages":[{"role":"user","content":"hi"}]}`),
    ),
  );
}
