import { GEMINI_KEY_ENV } from "../providers/gemini/index.js";
import { OPENAI_PRESETS, type OpenAIPreset } from "../providers/openai/presets.js";

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
  // Azure needs its resource too: `azure/<deployment>`, as the openai SDK's AzureOpenAI reads them.
  if (env.AZURE_OPENAI_API_KEY && env.AZURE_OPENAI_ENDPOINT) {
    providers.azure = { type: "azure-openai", api_key_env: "AZURE_OPENAI_API_KEY", passthrough_models: true };
  }
  if (env[GEMINI_KEY_ENV]) providers.gemini = { type: "gemini", passthrough_models: true };
  // `bedrock/<modelId>`, signed with the credentials and region the AWS SDKs read.
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY && (env.AWS_REGION || env.AWS_DEFAULT_REGION))
    providers.bedrock = { type: "bedrock", passthrough_models: true };
  // `groq/<model>`, `mistral/<model>`, ...: each preset whose key is set.
  for (const [name, preset] of Object.entries(OPENAI_PRESETS) as [string, OpenAIPreset][]) {
    if (preset.keyEnv && env[preset.keyEnv]) providers[name] = { type: name, passthrough_models: true };
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
