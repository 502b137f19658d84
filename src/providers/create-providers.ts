import { readConfiguredFile } from "../config/configured-file.js";
import type { ProviderConfig } from "../config/schema.js";
import type { DemoUpstream } from "../demo/demo-upstream.js";
import type { OriginOptions, OriginRegistry } from "../upstream/upstream-pools.js";
import { ANTHROPIC_DEFAULT_BASE_URL, createAnthropicProvider } from "./anthropic/index.js";
import {
  AZURE_API_VERSION,
  AZURE_DEFAULT_API_VERSION,
  createAzureOpenAIProvider,
} from "./azure-openai/index.js";
import { bedrockDefaultBaseUrl, createBedrockProvider } from "./bedrock/index.js";
import { createDemoProvider } from "./demo/index.js";
import { createGeminiProvider, GEMINI_DEFAULT_BASE_URL } from "./gemini/index.js";
import { keyVariable } from "./key-variables.js";
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
  const key = (configured: string | undefined) =>
    readKey(name, "api_key_env", keyVariable(config.type, configured), env, problems);
  const url = (setting: string, configured: string | undefined, variables: string[], fallback?: string) =>
    readUrl({ provider: name, setting, configured, variables, fallback }, env, problems);
  switch (config.type) {
    case "openai": {
      const baseUrl = url("base_url", config.base_url, ["OPENAI_BASE_URL"], OPENAI_DEFAULT_BASE_URL);
      const { organization, project } = config;
      const apiKey = key(config.api_key_env);
      if (baseUrl === undefined) return undefined;
      return createOpenAIProvider(
        { ...common, apiKey, baseUrl, organization, project },
        pools,
        originOptions,
      );
    }
    case "anthropic": {
      const baseUrl = url("base_url", config.base_url, ["ANTHROPIC_BASE_URL"], ANTHROPIC_DEFAULT_BASE_URL);
      const { version, auth, default_max_tokens: defaultMaxTokens } = config;
      const apiKey = key(config.api_key_env);
      if (baseUrl === undefined) return undefined;
      return createAnthropicProvider(
        { ...common, apiKey, baseUrl, version, auth, defaultMaxTokens },
        pools,
        originOptions,
      );
    }
    case "azure-openai": {
      const endpoint = url("endpoint", config.endpoint, ["AZURE_OPENAI_ENDPOINT"]);
      const apiVersion = config.api_version ?? env.OPENAI_API_VERSION ?? AZURE_DEFAULT_API_VERSION;
      if (!AZURE_API_VERSION.test(apiVersion))
        problems.push(`providers.${name}.api_version: OPENAI_API_VERSION is not a version: "${apiVersion}"`);
      const apiKey = key(config.api_key_env);
      if (endpoint === undefined) return undefined;
      return createAzureOpenAIProvider(
        { ...common, apiKey, endpoint, auth: config.auth, apiVersion },
        pools,
        originOptions,
      );
    }
    case "gemini": {
      const baseUrl = url("base_url", config.base_url, ["GEMINI_BASE_URL"], GEMINI_DEFAULT_BASE_URL);
      const apiKey = key(config.api_key_env);
      if (baseUrl === undefined) return undefined;
      return createGeminiProvider(
        { ...common, apiKey, baseUrl, apiVersion: config.api_version },
        pools,
        originOptions,
      );
    }
    case "bedrock": {
      const region = config.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
      if (region === undefined)
        problems.push(`providers.${name}.region: not set, and AWS_REGION is not set either`);
      const credential = (setting: "access_key_id_env" | "secret_access_key_env") =>
        readKey(name, setting, config[setting], env, problems);
      const accessKeyId = credential("access_key_id_env");
      const secretAccessKey = credential("secret_access_key_env");
      const baseUrl = url(
        "base_url",
        config.base_url,
        ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL"],
        region && bedrockDefaultBaseUrl(region),
      );
      if (!region || !accessKeyId || !secretAccessKey || !baseUrl) return undefined;
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
          apiKey: key(config.api_key_env),
          baseUrl: config.base_url ?? preset.baseUrl,
          dialect: preset.dialect,
        },
        pools,
        originOptions,
      );
    }
  }
}

/** Where a provider is reached: a URL setting of its config, and the variables its SDK reads instead. */
interface UrlSetting {
  provider: string;
  setting: string;
  configured: string | undefined;
  /** Read in order; the first one set wins. */
  variables: string[];
  /** When none is set; none at all is a problem. */
  fallback?: string | undefined;
}

/**
 * The URL the config names, else the first of its variables that is set, else the fallback. A
 * variable that is not an http(s) URL, or nothing at all, is a problem by the setting's path.
 */
function readUrl(where: UrlSetting, env: NodeJS.ProcessEnv, problems: string[]): string | undefined {
  const { provider, setting, configured, variables, fallback } = where;
  if (configured !== undefined) return configured;
  const variable = variables.find((name) => env[name]);
  const value = variable === undefined ? fallback : env[variable];
  if (value !== undefined && URL.canParse(value) && /^https?:$/.test(new URL(value).protocol)) return value;
  problems.push(
    variable !== undefined
      ? `providers.${provider}.${setting}: ${variable} is not an http(s) URL: "${value}"`
      : `providers.${provider}.${setting}: not set, and ${variables.join(" or ")} is not set either`,
  );
  return undefined;
}

/** A key or credential from the variable `setting` names, registered as a secret so no message quotes it. */
function readKey(
  provider: string,
  setting: string,
  variable: string | undefined,
  env: NodeJS.ProcessEnv,
  problems: string[],
): string | undefined {
  if (variable === undefined) return undefined;
  const key = env[variable];
  if (!key) {
    problems.push(`providers.${provider}.${setting}: the environment variable ${variable} is not set`);
    return undefined;
  }
  registerSecret(key);
  return key;
}
