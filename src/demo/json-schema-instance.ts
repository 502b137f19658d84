/** A JSON Schema, or a part of one. */
export type SchemaNode = Record<string, unknown>;

/** Bounds on what a schema may ask for: a caller's schema must not make the demo build without end. */
const MAX_DEPTH = 32;
const MAX_ITEMS = 16;
const MAX_STRING = 4096;
const MAX_VALUES = 10_000;

/**
 * A small value valid against a JSON Schema, for the demo's tool arguments and structured output
 * (and the test fakes'): an object's required properties only, in the schema's key order; the
 * first enum value, const, anyOf or oneOf; `strings()` for a string, padded to minLength; the
 * minimum or 0; false; minItems items. Local $refs to $defs or definitions are followed. Throws
 * for a schema past the bounds above or a $ref it cannot follow.
 */
export function schemaInstance(schema: unknown, strings: () => string = () => ""): unknown {
  let values = 0;
  const build = (node: unknown, depth: number): unknown => {
    if (depth > MAX_DEPTH) throw new Error(`the schema nests deeper than ${MAX_DEPTH} (recursive?)`);
    if (++values > MAX_VALUES) throw new Error(`the schema asks for more than ${MAX_VALUES} values`);
    return instanceOf(node, schema, strings, (sub) => build(sub, depth + 1));
  };
  return build(schema, 0);
}

function instanceOf(
  schema: unknown,
  root: unknown,
  strings: () => string,
  next: (sub: unknown) => unknown,
): unknown {
  if (typeof schema !== "object" || schema === null) return {};
  const s = schema as SchemaNode;
  if (typeof s.$ref === "string") return next(resolve(root, s.$ref));
  if ("const" in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum[0];
  const alternatives = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (Array.isArray(alternatives) && alternatives.length > 0) return next(alternatives[0]);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case "string":
      return strings().padEnd(bounded(s.minLength, MAX_STRING), "x");
    case "number":
    case "integer":
      return typeof s.minimum === "number" ? Math.ceil(s.minimum) : 0;
    case "boolean":
      return false;
    case "null":
      return null;
    case "array": {
      const count = bounded(s.minItems, MAX_ITEMS);
      return Array.from({ length: count }, () => next(s.items));
    }
    default: {
      const properties = (s.properties ?? {}) as SchemaNode;
      const required = Array.isArray(s.required) ? (s.required as string[]) : [];
      return Object.fromEntries(required.map((name) => [name, next(properties[name])]));
    }
  }
}

/** A schema's minimum count, within what the demo will build (0 for anything but a number). */
function bounded(value: unknown, max: number): number {
  return typeof value === "number" && value > 0 ? Math.min(Math.ceil(value), max) : 0;
}

function resolve(root: unknown, ref: string): unknown {
  if (!ref.startsWith("#/")) throw new Error(`only local $refs are followed, not ${ref}`);
  return ref
    .slice(2)
    .split("/")
    .reduce<unknown>((at, key) => (at as SchemaNode | undefined)?.[key], root);
}
