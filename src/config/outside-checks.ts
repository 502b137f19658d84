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
    const variable = provider.api_key_env ?? preset?.keyEnv;
    if (typeof variable === "string" && variable !== "" && !env[variable])
      problems.push(`providers.${name}.api_key_env: the environment variable ${variable} is not set`);
    if (provider.type === "azure-openai" && provider.endpoint === undefined && !env.AZURE_OPENAI_ENDPOINT)
      problems.push(`providers.${name}.endpoint: not set, and AZURE_OPENAI_ENDPOINT is not set either`);
    readable(provider.ca_file, `providers.${name}.ca_file`);
  }
  return problems;
}

const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
