/** The models a key may call, as globs: `*` for any run of characters (slashes too), `?` for one. */
export interface ModelPatterns {
  /** Whether any of a model's names (the one called, the model's own, its aliases) matches. */
  allows(names: readonly string[]): boolean;
  /** The globs, as configured, for the refusal's message. */
  readonly globs: readonly string[];
}

export function modelPatterns(globs: readonly string[]): ModelPatterns {
  // One expression for all of them: a key's globs are checked on every call.
  const alternatives = globs.map((glob) =>
    glob
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
      .join(""),
  );
  const pattern = new RegExp(`^(?:${alternatives.join("|")})$`, "s");
  return { globs, allows: (names) => names.some((name) => pattern.test(name)) };
}
