import type { z } from "zod";
import { invalidField } from "../errors/gateway-error.js";

/** `value` read by `schema`, or a refusal naming the field below `field` that is wrong. */
export function parseField<T extends z.ZodType>(schema: T, value: unknown, field: string): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw invalidField(field || "body", "is invalid");
  throw invalidField(fieldAt(field, issue.path) || "body", problemOf(issue));
}

/** `messages` and [0, "content"] read as `messages[0].content`, as a caller writes it. */
function fieldAt(field: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>((at, key) => {
    if (typeof key === "number") return `${at}[${key}]`;
    return at === "" ? String(key) : `${at}.${String(key)}`;
  }, field);
}

/**
 * What is wrong with a field, read on from its name: "model is required", "temperature is invalid:
 * expected number, received string". Our own messages already read that way; zod's do not.
 */
function problemOf(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type" && / received undefined$/.test(issue.message)) return "is required";
  if (!/^[A-Z]/.test(issue.message)) return issue.message;
  return `is invalid: ${issue.message.replace(/^Invalid input: /, "")}`;
}

/** The `type` of an OpenAI object, or undefined when it has none. */
export function typeOf(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || !("type" in value)) return undefined;
  return typeof value.type === "string" ? value.type : undefined;
}

/** Why an object of an unsupported `type` is refused: "custom tools are not supported". */
export const notCarried = (type: string | undefined, what: string) =>
  type === undefined ? "it has no type" : `"${type}" ${what} are not supported`;
