/**
 * A small value that fits a JSON Schema, for the demo's tool arguments and structured output:
 * objects with their required properties (all of them when none is required), in the schema's
 * key order; the first of an enum, const, anyOf or oneOf; one item for an array; strings drawn
 * from `words`. Enough of JSON Schema for what tools and response formats declare.
 */
export function schemaInstance(schema: unknown, words: () => string): unknown {
  if (typeof schema !== "object" || schema === null) return {};
  const s = schema as Record<string, unknown>;
  if ("const" in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  const first = [s.anyOf, s.oneOf].find((options): options is unknown[] => Array.isArray(options));
  if (first?.length) return schemaInstance(first[0], words);
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type;
  switch (type) {
    case "string":
      return words();
    case "integer":
      return typeof s.minimum === "number" ? Math.ceil(s.minimum) : 1;
    case "number":
      return typeof s.minimum === "number" ? s.minimum : 1.5;
    case "boolean":
      return true;
    case "null":
      return null;
    case "array": {
      const count = typeof s.minItems === "number" ? Math.max(1, s.minItems) : 1;
      return Array.from({ length: count }, () => schemaInstance(s.items, words));
    }
    default: {
      const properties = (s.properties ?? {}) as Record<string, unknown>;
      const required = Array.isArray(s.required) ? new Set(s.required) : undefined;
      const value: Record<string, unknown> = {};
      for (const [key, property] of Object.entries(properties))
        if (required === undefined || required.has(key)) value[key] = schemaInstance(property, words);
      return value;
    }
  }
}
