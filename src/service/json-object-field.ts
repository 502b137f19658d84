import { invalid } from "./invalid-field.js";

/** Deeper than any schema or arguments a model needs, and far from what JSON.stringify can recurse. */
export const MAX_JSON_DEPTH = 64;

/**
 * A field holding JSON text that must be an object (a JSON Schema, a tool call's arguments): the
 * object, or INVALID_ARGUMENT naming the field. Its nesting is bounded, so no request can make a
 * provider's body too deep to build.
 */
export function jsonObjectField(text: string, field: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    invalid(field, `is not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    invalid(field, "must be a JSON object");
  if (depthOf(value) > MAX_JSON_DEPTH) invalid(field, `nests deeper than ${MAX_JSON_DEPTH} levels`);
  return value as Record<string, unknown>;
}

/** How deep a parsed JSON value nests, walked without recursion. */
function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [node, depth] = top;
    if (typeof node !== "object" || node === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > MAX_JSON_DEPTH) return deepest;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}
