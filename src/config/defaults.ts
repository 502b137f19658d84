/**
 * The configuration with no file: the embedded demo upstream serves model "demo" (no keys, no
 * network), and each provider whose key is in the environment serves `<provider>/<model>`
 * for any model, as LiteLLM users expect.
 */
export function defaultConfigDocument(env: NodeJS.ProcessEnv): {
  providers: Record<string, unknown>;
  models: Record<string, unknown>;
} {
  const providers: Record<string, unknown> = { demo: { type: "demo" } };
  if (env.OPENAI_API_KEY) {
    providers.openai = { type: "openai", api_key_env: "OPENAI_API_KEY", passthrough_models: true };
  }
  if (env.ANTHROPIC_API_KEY) {
    providers.anthropic = { type: "anthropic", api_key_env: "ANTHROPIC_API_KEY", passthrough_models: true };
  }
  return { providers, models: { demo: { deployments: [{ provider: "demo", model: "demo" }] } } };
}

/**
 * A file adds to the default rather than replacing it: without a `models` section of its own (a
 * file holding only `server.cors`, say), the default's models stay and its providers sit beside
 * the file's, which win a shared name. A file with `models` routes exactly those (`models: {}`
 * for none), and the default's providers are then left out.
 */
export function withDefaults(document: unknown, env: NodeJS.ProcessEnv): unknown {
  if (!isRecord(document) || "models" in document) return document;
  const defaults = defaultConfigDocument(env);
  const { providers } = document;
  return {
    ...document,
    // Anything else (a list, a string) is left for the schema to name.
    providers:
      providers === undefined || isRecord(providers) ? { ...defaults.providers, ...providers } : providers,
    models: defaults.models,
  };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
