import { readConfiguredFile } from "../config/configured-file.js";
import type { ProviderConfig } from "../config/schema.js";
import type { DemoUpstream } from "../demo/demo-upstream.js";
import type { OriginOptions, OriginRegistry } from "../upstream/upstream-pools.js";
import { ANTHROPIC_DEFAULT_BASE_URL, createAnthropicProvider } from "./anthropic/index.js";
import { AZURE_DEFAULT_API_VERSION, createAzureOpenAIProvider } from "./azure-openai/index.js";
import { bedrockDefaultBaseUrl, createBedrockProvider } from "./bedrock/index.js";
import { createDemoProvider } from "./demo/index.js";
import { createGeminiProvider, GEMINI_DEFAULT_BASE_URL, GEMINI_KEY_ENV } from "./gemini/index.js";
import { createOpenAIProvider, OPENAI_DEFAULT_BASE_URL } from "./openai/index.js";
import { OPENAI_PRESETS, type OpenAIPreset } from "./openai/presets.js";
import type { Provider } from "./provider.js";
import { registerSecret } from "./redact-secrets.js";

export interface ProviderSet {
  providers: Map<string, Provider>;
  /** Providers that serve any model named `<provider>/<model>`. */
  passthrough: Set<string>;
}

/**
 * Builds every configured provider; a demo provider is sent to its started demo upstream. A key
 * variable that is not set or a CA file that cannot be read is added to `problems` by its config
 * path, and the rest still built, so that the caller can name every mistake at once.
 */
export function createProviders(
  configs: Record<string, ProviderConfig>,
  pools: OriginRegistry,
  demoUpstreams: ReadonlyMap<string, DemoUpstream>,
  env: NodeJS.ProcessEnv,
  problems: string[],
): ProviderSet {
  const providers = new Map<string, Provider>();
  const passthrough = new Set<string>();
  for (const [name, config] of Object.entries(configs)) {
    if (config.type === "demo") {
      const upstream = demoUpstreams.get(name);
      if (upstream) providers.set(name, createDemoProvider(name, upstream, pools, config.pool));
      continue;
    }
    const originOptions: OriginOptions = {
      ...(config.pool ? { pool: config.pool } : {}),
      ...(config.ca_file
        ? { ca: readConfiguredFile(config.ca_file, `providers.${name}.ca_file`, problems) }
        : {}),
    };
    const provider = createHttpProvider(name, config, pools, originOptions, env, problems);
    if (provider === undefined) continue;
    providers.set(name, provider);
    if (config.passthrough_models) passthrough.add(name);
  }
  return { providers, passthrough };
}

/** A provider reached over HTTP, by its type; undefined when its config names what is not there. */
function createHttpProvider(
  name: string,
  config: Exclude<ProviderConfig, { type: "demo" }>,
  pools: OriginRegistry,
  originOptions: OriginOptions,
  env: NodeJS.ProcessEnv,
  problems: string[],
): Provider | undefined {
  const common = { name, headers: config.headers };
  switch (config.type) {
    case "openai":
      return createOpenAIProvider(
        {
          ...common,
          apiKey: readKey(name, config.api_key_env, env, problems),
          baseUrl: config.base_url ?? env.OPENAI_BASE_URL ?? OPENAI_DEFAULT_BASE_URL,
          organization: config.organization,
          project: config.project,
        },
        pools,
        originOptions,
      );
    case "anthropic":
      return createAnthropicProvider(
        {
          ...common,
          apiKey: readKey(name, config.api_key_env, env, problems),
          baseUrl: config.base_url ?? env.ANTHROPIC_BASE_URL ?? ANTHROPIC_DEFAULT_BASE_URL,
          version: config.version,
          auth: config.auth,
          defaultMaxTokens: config.default_max_tokens,
        },
        pools,
        originOptions,
      );
    case "azure-openai": {
      const endpoint = fromEnv(name, "endpoint", config.endpoint, "AZURE_OPENAI_ENDPOINT", env, problems);
      const apiVersion = config.api_version ?? env.OPENAI_API_VERSION ?? AZURE_DEFAULT_API_VERSION;
      const apiKey = readKey(name, config.api_key_env, env, problems);
      if (endpoint === undefined) return undefined;
      return createAzureOpenAIProvider(
        { ...common, apiKey, endpoint, auth: config.auth, apiVersion },
        pools,
        originOptions,
      );
    }
    case "gemini":
      return createGeminiProvider(
        {
          ...common,
          apiKey: readKey(name, config.api_key_env ?? GEMINI_KEY_ENV, env, problems),
          baseUrl: config.base_url ?? env.GEMINI_BASE_URL ?? GEMINI_DEFAULT_BASE_URL,
          apiVersion: config.api_version,
        },
        pools,
        originOptions,
      );
    case "bedrock": {
      const region = config.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
      if (region === undefined)
        problems.push(`providers.${name}.region: not set, and AWS_REGION is not set either`);
      const accessKeyId = readCredential(name, "access_key_id_env", config.access_key_id_env, env, problems);
      const secretAccessKey = readCredential(
        name,
        "secret_access_key_env",
        config.secret_access_key_env,
        env,
        problems,
      );
      if (region === undefined || accessKeyId === undefined || secretAccessKey === undefined)
        return undefined;
      const baseUrl =
        config.base_url ??
        env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME ??
        env.AWS_ENDPOINT_URL ??
        bedrockDefaultBaseUrl(region);
      const sessionToken = env[config.session_token_env] || undefined;
      return createBedrockProvider(
        { ...common, baseUrl, region, credentials: { accessKeyId, secretAccessKey, sessionToken } },
        pools,
        originOptions,
      );
    }
    default: {
      const preset: OpenAIPreset = OPENAI_PRESETS[config.type];
      return createOpenAIProvider(
        {
          ...common,
          apiKey: readKey(name, config.api_key_env ?? preset.keyEnv, env, problems),
          baseUrl: config.base_url ?? preset.baseUrl,
          dialect: preset.dialect,
        },
        pools,
        originOptions,
      );
    }
  }
}

/**
 * A URL the config may leave to an environment variable (as the provider's own SDK reads it);
 * neither set, or the variable not a URL, is a problem by the setting's path.
 */
function fromEnv(
  provider: string,
  setting: string,
  configured: string | undefined,
  variable: string,
  env: NodeJS.ProcessEnv,
  problems: string[],
): string | undefined {
  if (configured !== undefined) return configured;
  const value = env[variable];
  if (value && URL.canParse(value)) return value;
  problems.push(
    value
      ? `providers.${provider}.${setting}: ${variable} is not a URL: "${value}"`
      : `providers.${provider}.${setting}: not set, and ${variable} is not set either`,
  );
  return undefined;
}

/** An AWS credential from the variable the config names; registered as a secret by the signer. */
function readCredential(
  provider: string,
  setting: string,
  variable: string,
  env: NodeJS.ProcessEnv,
  problems: string[],
): string | undefined {
  const value = env[variable];
  if (!value)
    problems.push(`providers.${provider}.${setting}: the environment variable ${variable} is not set`);
  return value || undefined;
}

function readKey(
  provider: string,
  variable: string | undefined,
  env: NodeJS.ProcessEnv,
  problems: string[],
): string | undefined {
  if (variable === undefined) return undefined;
  const key = env[variable];
  if (!key) {
    problems.push(`providers.${provider}.api_key_env: the environment variable ${variable} is not set`);
    return undefined;
  }
  registerSecret(key);
  return key;
}
