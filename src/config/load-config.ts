import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { defaultConfigDocument, withDefaults } from "./defaults.js";
import { outsideProblems } from "./outside-checks.js";
import { ConfigSchema, type GatewayConfig, PROVIDER_TYPES } from "./schema.js";

/** A config that cannot be used; its message names each mistake by its path in the file. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid config (${source}):\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export interface ConfigSources {
  /**
   * Path of a YAML file, which adds to the default (see withDefaults); none means the default: the
   * demo, plus each provider whose key is set.
   */
  file?: string | undefined;
  /** HOST and PORT override the file, so one image serves many ports. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Reads, validates and completes the configuration, and checks what it names outside itself (key
 * variables, files). Throws ConfigError naming every mistake.
 */
export function loadConfig({ file, env = {} }: ConfigSources = {}): GatewayConfig {
  const source = file ?? "built-in default";
  const document = file === undefined ? defaultConfigDocument(env) : withDefaults(readYaml(file), env);
  applyEnv(document, env, source);
  const folder = file === undefined ? process.cwd() : dirname(resolve(file));
  // Every problem in one run: the schema's, the references', and what the file names outside itself.
  const { config, problems } = validate(document);
  problems.push(...outsideProblems(document, env, (path) => resolve(folder, path)));
  if (config === undefined || problems.length > 0) throw new ConfigError(source, problems);
  return file === undefined ? config : withPathsFrom(folder, config);
}

/**
 * The files a config names are found from the config file's folder, as with docker-compose and
 * nginx, not from wherever the gateway happens to be started. Absolute paths stay as they are.
 */
function withPathsFrom(folder: string, config: GatewayConfig): GatewayConfig {
  const { tls } = config.server;
  if (tls)
    config.server.tls = {
      cert_file: resolve(folder, tls.cert_file),
      key_file: resolve(folder, tls.key_file),
    };
  for (const provider of Object.values(config.providers))
    if ("ca_file" in provider && provider.ca_file !== undefined)
      provider.ca_file = resolve(folder, provider.ca_file);
  return config;
}

/** Validates a config document already in memory (tests use this). */
export function parseConfig(document: unknown, source = "inline"): GatewayConfig {
  const { config, problems } = validate(document);
  if (config === undefined) throw new ConfigError(source, problems);
  return config;
}

/** The schema's and the references' verdict: the config, or every problem with its path. */
function validate(document: unknown): { config: GatewayConfig | undefined; problems: string[] } {
  const result = ConfigSchema.safeParse(document);
  return result.success
    ? { config: result.data, problems: [] }
    : { config: undefined, problems: result.error.issues.map(formatIssue) };
}

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(file, [`cannot read the file: ${(error as NodeJS.ErrnoException).code ?? error}`]);
  }
  try {
    return parseYaml(text) ?? {};
  } catch (error) {
    throw new ConfigError(file, [`not valid YAML: ${(error as Error).message.split("\n")[0]}`]);
  }
}

function applyEnv(document: unknown, env: NodeJS.ProcessEnv, source: string): void {
  if (!env.HOST && !env.PORT?.trim()) return;
  if (typeof document !== "object" || document === null) return;
  const root = document as { server?: Record<string, unknown> };
  root.server = { ...root.server };
  if (env.HOST) root.server.host = env.HOST;
  const port = env.PORT?.trim();
  if (port) {
    if (!/^\d+$/.test(port)) throw new ConfigError(source, [`PORT: "${env.PORT}" is not a port number`]);
    root.server.port = Number(port);
  }
}

/** `models.gpt-4o.deployments[1].provider: unknown provider "opneai"` */
function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path
    .map((key, i) => (typeof key === "number" ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`))
    .join("");
  return `${path || "(top level)"}: ${describe(issue)}`;
}

function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "unrecognized_keys":
      return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
    case "invalid_union":
      return "discriminator" in issue
        ? `unknown type (expected one of: ${PROVIDER_TYPES.join(", ")})`
        : issue.message;
    default:
      return issue.message;
  }
}
