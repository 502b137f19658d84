import { z } from "zod";
import { parseDuration } from "./duration.js";

/** A duration written as "250ms", "5s", "2m" or "1h", held in milliseconds. */
const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: `"${text}" is not a duration (write 250ms, 5s, 2m or 1h)` });
    return z.NEVER;
  }
  return ms;
});

const port = z.number().int().min(0).max(65535);

export const ServerSchema = z
  .object({
    /** Address to listen on. Default 127.0.0.1: exposing the gateway is a choice, not an accident. */
    host: z.string().min(1).default("127.0.0.1"),
    /** Port for gRPC, Connect and gRPC-Web alike. Default 8080; 0 picks a free one. */
    port: port.default(8080),
    /** PEM certificate and key: when set, the port speaks TLS with ALPN h2 and http/1.1. */
    tls: z.strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1) }).optional(),
    /** Largest request accepted, in bytes. Default 1 MiB. */
    max_request_bytes: z
      .number()
      .int()
      .positive()
      .default(1024 * 1024),
    /** How long shutdown waits for in-flight RPCs before closing them. Default 10s. */
    drain_timeout: duration.default(10_000),
  })
  .strict();

export const PoolSchema = z
  .object({
    /** false opens a fresh connection for every request: the baseline pooling is measured against. */
    pooling: z.boolean().default(true),
    /** Connections per origin (HTTP/2 sessions, or HTTP/1.1 sockets). Default 4. */
    max_connections: z.number().int().positive().default(4),
    /** Streams per HTTP/2 connection; the server's SETTINGS may lower it. Default 100. */
    max_concurrent_streams: z.number().int().positive().default(100),
    /** Idle connections kept open per origin. Default 4. */
    max_idle_connections: z.number().int().nonnegative().default(4),
    /** An idle connection closes after this long. Default 5s. */
    keepalive_expiry: duration.default(5_000),
    /** TCP plus TLS handshake limit. Default 10s. */
    connect_timeout: duration.default(10_000),
    /** Limit on one upstream request, from sending to the last byte. Default 120s. */
    request_timeout: duration.default(120_000),
  })
  .strict();

/** The same knobs as `pool`, each optional: a provider's own `pool:` overrides the defaults. */
const PoolOverrideSchema = PoolSchema.partial();

const DemoProviderSchema = z
  .object({
    type: z.literal("demo"),
    /** Delay before the first token, for realistic streaming. Default 0ms. */
    time_to_first_token: duration.default(0),
    /** Delay between tokens. Default 0ms. */
    inter_token_delay: duration.default(0),
    pool: PoolOverrideSchema.optional(),
  })
  .strict();

/** Settings every HTTP provider shares. */
const httpProviderFields = {
  /** Name of the environment variable holding the key; keys are never written in the file. */
  api_key_env: z.string().min(1).optional(),
  /** Extra headers sent with every request (for gateways and compatible servers that want them). */
  headers: z.record(z.string(), z.string()).optional(),
  /** A PEM file of extra CA certificates to trust for this provider (NODE_EXTRA_CA_CERTS works too). */
  ca_file: z.string().min(1).optional(),
  /** Serve any model a caller names `<provider>/<model>`, besides the models configured below. */
  passthrough_models: z.boolean().default(false),
  pool: PoolOverrideSchema.optional(),
};

const OpenAIProviderSchema = z
  .object({
    type: z.literal("openai"),
    /** Where the API lives, `/chat/completions` appended. Default OPENAI_BASE_URL, else https://api.openai.com/v1. */
    base_url: z.url({ protocol: /^https?$/ }).optional(),
    /** Sent as OpenAI-Organization. */
    organization: z.string().min(1).optional(),
    /** Sent as OpenAI-Project. */
    project: z.string().min(1).optional(),
    ...httpProviderFields,
  })
  .strict();

const AnthropicProviderSchema = z
  .object({
    type: z.literal("anthropic"),
    /** Where the API lives, `/v1/messages` appended. Default ANTHROPIC_BASE_URL, else https://api.anthropic.com. */
    base_url: z.url({ protocol: /^https?$/ }).optional(),
    /** The anthropic-version header. Default 2023-06-01, the version the API documents. */
    version: z.string().min(1).default("2023-06-01"),
    /** How the key is sent: `x-api-key` (default, as documented) or `bearer` (as SDK 1.14 sends it). */
    auth: z.enum(["x-api-key", "bearer"]).default("x-api-key"),
    /** max_tokens when the caller gives none; the Messages API requires one. Default 4096. */
    default_max_tokens: z.number().int().positive().default(4096),
    ...httpProviderFields,
  })
  .strict();

export const ProviderSchema = z.discriminatedUnion("type", [
  DemoProviderSchema,
  OpenAIProviderSchema,
  AnthropicProviderSchema,
]);

const DeploymentSchema = z
  .object({
    /** The name of a provider under `providers`. */
    provider: z.string().min(1),
    /** The model name the provider is asked for. */
    model: z.string().min(1),
  })
  .strict();

const ModelSchema = z
  .object({
    /** Other names that route to this model. */
    aliases: z.array(z.string().min(1)).default([]),
    /** Where the model is served; the first is used until the router learns to choose. */
    deployments: z.array(DeploymentSchema).min(1),
  })
  .strict();

export const ConfigSchema = z
  .object({
    server: ServerSchema.default(ServerSchema.parse({})),
    pool: PoolSchema.default(PoolSchema.parse({})),
    providers: z.record(z.string().min(1), ProviderSchema).default({}),
    models: z.record(z.string().min(1), ModelSchema).default({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    const names = new Map<string, string>();
    for (const [model, spec] of Object.entries(config.models)) {
      spec.deployments.forEach((deployment, i) => {
        if (!(deployment.provider in config.providers)) {
          const known = Object.keys(config.providers).join(", ") || "none";
          ctx.addIssue({
            code: "custom",
            path: ["models", model, "deployments", i, "provider"],
            message: `unknown provider "${deployment.provider}" (configured: ${known})`,
          });
        }
      });
      for (const [i, name] of [model, ...spec.aliases].entries()) {
        const owner = names.get(name);
        if (owner !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: i === 0 ? ["models", model] : ["models", model, "aliases", i - 1],
            message: `"${name}" already names model "${owner}"`,
          });
        }
        names.set(name, model);
      }
    }
  });

export type GatewayConfig = z.output<typeof ConfigSchema>;
export type ServerConfig = GatewayConfig["server"];
export type PoolConfig = GatewayConfig["pool"];
export type PoolOverride = z.output<typeof PoolOverrideSchema>;
export type ProviderConfig = GatewayConfig["providers"][string];
export type ModelConfig = GatewayConfig["models"][string];
