/** A JSON Schema, or a part of one. */
export type SchemaNode = Record<string, unknown>;

/**
 * A small value valid against a JSON Schema, for the demo's tool arguments and structured output
 * (and the test fakes'): an object's required properties only, in the schema's key order; the
 * first enum value, const, anyOf or oneOf; `strings()` for a string, padded to minLength; the
 * minimum or 0; false; minItems items. Local $refs to $defs or definitions are followed.
 */
export function schemaInstance(
  schema: unknown,
  strings: () => string = () => "",
  root: unknown = schema,
  depth = 0,
): unknown {
  if (depth > 32) throw new Error("schemaInstance: the schema nests too deep (recursive?)");
  if (typeof schema !== "object" || schema === null) return {};
  const s = schema as SchemaNode;
  const next = (sub: unknown) => schemaInstance(sub, strings, root, depth + 1);
  if (typeof s.$ref === "string") return next(resolve(root, s.$ref));
  if ("const" in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum[0];
  const alternatives = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (Array.isArray(alternatives) && alternatives.length > 0) return next(alternatives[0]);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case "string":
      return strings().padEnd(typeof s.minLength === "number" ? s.minLength : 0, "x");
    case "number":
    case "integer":
      return typeof s.minimum === "number" ? Math.ceil(s.minimum) : 0;
    case "boolean":
      return false;
    case "null":
      return null;
    case "array": {
      const count = typeof s.minItems === "number" ? s.minItems : 0;
      return Array.from({ length: count }, () => next(s.items));
    }
    default: {
      const properties = (s.properties ?? {}) as SchemaNode;
      const required = Array.isArray(s.required) ? (s.required as string[]) : [];
      return Object.fromEntries(required.map((name) => [name, next(properties[name])]));
    }
  }
}

function resolve(root: unknown, ref: string): unknown {
  if (!ref.startsWith("#/")) throw new Error(`schemaInstance: only local $refs, not ${ref}`);
  return ref
    .slice(2)
    .split("/")
    .reduce<unknown>((at, key) => (at as SchemaNode | undefined)?.[key], root);
}
