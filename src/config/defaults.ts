/**
 * The configuration with no file: the embedded demo upstream serves model "demo" (no keys, no
 * network), and each provider whose key is in the environment serves `<provider>/<model>`
 * for any model, as LiteLLM users expect.
 */
export function defaultConfigDocument(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const providers: Record<string, unknown> = { demo: { type: "demo" } };
  if (env.OPENAI_API_KEY) {
    providers.openai = { type: "openai", api_key_env: "OPENAI_API_KEY", passthrough_models: true };
  }
  if (env.ANTHROPIC_API_KEY) {
    providers.anthropic = { type: "anthropic", api_key_env: "ANTHROPIC_API_KEY", passthrough_models: true };
  }
  return { providers, models: { demo: { deployments: [{ provider: "demo", model: "demo" }] } } };
}
