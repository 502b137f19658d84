import { readConfiguredFile } from "../config/configured-file.js";
import type { ProviderConfig } from "../config/schema.js";
import type { DemoUpstream } from "../demo/demo-upstream.js";
import type { OriginOptions, OriginRegistry } from "../upstream/upstream-pools.js";
import { ANTHROPIC_DEFAULT_BASE_URL, createAnthropicProvider } from "./anthropic/index.js";
import { createDemoProvider } from "./demo/index.js";
import { createOpenAIProvider, OPENAI_DEFAULT_BASE_URL } from "./openai/index.js";
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
    const apiKey = readKey(name, config.api_key_env, env, problems);
    const common = { name, apiKey, headers: config.headers };
    const originOptions: OriginOptions = {
      ...(config.pool ? { pool: config.pool } : {}),
      ...(config.ca_file
        ? { ca: readConfiguredFile(config.ca_file, `providers.${name}.ca_file`, problems) }
        : {}),
    };
    const provider =
      config.type === "openai"
        ? createOpenAIProvider(
            {
              ...common,
              baseUrl: config.base_url ?? env.OPENAI_BASE_URL ?? OPENAI_DEFAULT_BASE_URL,
              organization: config.organization,
              project: config.project,
            },
            pools,
            originOptions,
          )
        : createAnthropicProvider(
            {
              ...common,
              baseUrl: config.base_url ?? env.ANTHROPIC_BASE_URL ?? ANTHROPIC_DEFAULT_BASE_URL,
              version: config.version,
              auth: config.auth,
              defaultMaxTokens: config.default_max_tokens,
            },
            pools,
            originOptions,
          );
    providers.set(name, provider);
    if (config.passthrough_models) passthrough.add(name);
  }
  return { providers, passthrough };
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
