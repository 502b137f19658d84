import { AWS_CREDENTIAL_VARIABLES, keyVariable } from "../providers/key-variables.js";
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
    const variable = keyVariable(String(provider.type), provider.api_key_env as string | undefined);
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
  for (const setting of ["access_key_id_env", "secret_access_key_env"] as const) {
    const variable = provider[setting] ?? AWS_CREDENTIAL_VARIABLES[setting];
    if (typeof variable === "string" && !env[variable])
      problems.push(`providers.${name}.${setting}: the environment variable ${variable} is not set`);
  }
  return problems;
}

const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
