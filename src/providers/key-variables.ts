import { AZURE_KEY_ENV } from "./azure-openai/index.js";
import { GEMINI_KEY_ENV } from "./gemini/index.js";
import { OPENAI_PRESETS, type OpenAIPreset } from "./openai/presets.js";

/** The variables the services' own SDKs read their key from, by provider type. */
const SDK_KEY_VARIABLES: Record<string, string | undefined> = {
  "azure-openai": AZURE_KEY_ENV,
  gemini: GEMINI_KEY_ENV,
  ...Object.fromEntries(
    Object.entries(OPENAI_PRESETS as Record<string, OpenAIPreset>).map(([name, preset]) => [
      name,
      preset.keyEnv,
    ]),
  ),
};

/**
 * The variable a provider's key is read from: the config's `api_key_env`, else the one its
 * service's own SDK reads. None for `openai` and `anthropic` (a file names it; zero-config does)
 * and for local servers.
 */
export function keyVariable(type: string, configured: string | undefined): string | undefined {
  return configured ?? SDK_KEY_VARIABLES[type];
}

/** The variables a Bedrock provider reads its credentials from unless the config names others, as the AWS SDKs do. */
export const AWS_CREDENTIAL_VARIABLES = {
  access_key_id_env: "AWS_ACCESS_KEY_ID",
  secret_access_key_env: "AWS_SECRET_ACCESS_KEY",
  session_token_env: "AWS_SESSION_TOKEN",
} as const;
