import { AZURE_KEY_ENV } from "../providers/azure-openai/index.js";
import { GEMINI_KEY_ENV } from "../providers/gemini/index.js";
import { OPENAI_PRESETS, type OpenAIPreset, type OpenAIPresetName } from "../providers/openai/presets.js";
import { readConfiguredFile } from "./configured-file.js";

/**
 * What a config names outside itself, checked before anything starts: key variables that are not
 * set, files that cannot be read; each problem by its path in the config. It reads the document as
 * written, taking what is there, so that these are reported in the same run as the schema's
 * mistakes rather than one start later. `resolvePath` finds a file the config names.
 */
export function outsideProblems(
  document: unknown,
  env: NodeJS.ProcessEnv,
  resolvePath: (file: string) => string,
): string[] {
  const problems: string[] = [];
  const readable = (file: unknown, path: string) => {
    if (typeof file === "string" && file !== "") readConfiguredFile(resolvePath(file), path, problems);
  };
  const root = asRecord(document);
  const tls = asRecord(asRecord(root.server).tls);
  readable(tls.cert_file, "server.tls.cert_file");
  readable(tls.key_file, "server.tls.key_file");
  for (const [name, value] of Object.entries(asRecord(root.providers))) {
    const provider = asRecord(value);
    if (provider.type === "demo") continue;
    // A preset's key is read from its service's variable unless the file names another.
    const preset = OPENAI_PRESETS[provider.type as OpenAIPresetName] as OpenAIPreset | undefined;
    const variable = provider.api_key_env ?? preset?.keyEnv ?? DEFAULT_KEY_ENV[String(provider.type)];
    if (typeof variable === "string" && variable !== "" && !env[variable])
      problems.push(`providers.${name}.api_key_env: the environment variable ${variable} is not set`);
    if (provider.type === "azure-openai" && provider.endpoint === undefined && !env.AZURE_OPENAI_ENDPOINT)
      problems.push(`providers.${name}.endpoint: not set, and AZURE_OPENAI_ENDPOINT is not set either`);
    if (provider.type === "bedrock") problems.push(...awsProblems(name, provider, env));
    readable(provider.ca_file, `providers.${name}.ca_file`);
  }
  return problems;
}

/** A Bedrock provider's region and credential variables, as the AWS SDKs read them by default. */
function awsProblems(name: string, provider: Record<string, unknown>, env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  if (provider.region === undefined && !env.AWS_REGION && !env.AWS_DEFAULT_REGION)
    problems.push(`providers.${name}.region: not set, and AWS_REGION is not set either`);
  for (const [setting, variable] of [
    ["access_key_id_env", provider.access_key_id_env ?? "AWS_ACCESS_KEY_ID"],
    ["secret_access_key_env", provider.secret_access_key_env ?? "AWS_SECRET_ACCESS_KEY"],
  ])
    if (typeof variable === "string" && !env[variable])
      problems.push(`providers.${name}.${setting}: the environment variable ${variable} is not set`);
  return problems;
}

/** The key variables of provider types that read one unless the file names another. */
const DEFAULT_KEY_ENV: Record<string, string> = { gemini: GEMINI_KEY_ENV, "azure-openai": AZURE_KEY_ENV };

const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
