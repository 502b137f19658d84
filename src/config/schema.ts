import { availableParallelism } from "node:os";
import { z } from "zod";
import { AZURE_API_VERSION } from "../providers/azure-openai/index.js";
import { AWS_CREDENTIAL_VARIABLES } from "../providers/key-variables.js";
import { OPENAI_PRESET_NAMES } from "../providers/openai/presets.js";
import { KeysSchema, StoreSchema } from "./access-schema.js";
import { byteSize, duration } from "./duration.js";

const port = z.number().int().min(0).max(65535);

export const ConnectionsSchema = z
  .object({
    /** Open caller connections; more are closed as they are accepted. Default 10000. */
    max: z.number().int().positive().default(10_000),
    /**
     * An HTTP/2 connection with no stream, or an HTTP/1.1 keep-alive socket between requests, is
     * closed after this long. Default 5m: above load balancers' 60 s, so they close first.
     */
    idle_timeout: duration.default(300_000),
    /** A new connection's first bytes, and an HTTP/1.1 request's headers, must arrive within it (slowloris). Default 10s. */
    headers_timeout: duration.default(10_000),
    /** An HTTP/1.1 request must arrive whole within it (its answer may take longer). Default 30s. */
    request_timeout: duration.default(30_000),
    /** Streams one HTTP/2 connection may open at once (SETTINGS_MAX_CONCURRENT_STREAMS). Default 100. */
    max_concurrent_streams: z.number().int().positive().default(100),
    /** Size of a request's header list, HTTP/2 and HTTP/1.1 alike. Default 16 KiB. */
    max_header_bytes: z
      .number()
      .int()
      .min(1024)
      .default(16 * 1024),
  })
  .strict();

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
    /** Reload the config file when it changes, as SIGHUP does. Default false. */
    watch_config: z.boolean().default(false),
    /** How long shutdown waits for in-flight RPCs before closing them. Default 10s. */
    drain_timeout: duration.default(10_000),
    /**
     * The deadline of a call whose caller sets none (gRPC's `grpc-timeout`, Connect's
     * `connect-timeout-ms`, the OpenAI SDKs' `x-stainless-timeout`). Default 10m, the OpenAI SDK's own.
     */
    default_deadline: duration.default(600_000),
    /**
     * Generation calls (Generate, GenerateStream, chat completions) served at once. Beyond it new
     * ones are refused at once (RESOURCE_EXHAUSTED, HTTP 429) with retry-after, not queued. Default 1000.
     */
    max_in_flight: z.number().int().positive().default(1000),
    /**
     * Event-loop delay (p99 of each half second, two in a row) past which new generation calls are
     * refused and /readyz reports overload: a saturated process answers late for everyone. Default 500ms.
     */
    max_event_loop_delay: duration.default(500),
    /** Refuse to start without `keys`: a gateway that must never be open says so here. Default false. */
    require_keys: z.boolean().default(false),
    /**
     * /metrics, PoolStats, ListModels, /v1/models, gRPC health and reflection need a key with the
     * `admin` role (/healthz and /readyz stay open for probes). Default false: readable by anyone
     * who reaches the port, as operators' tools expect.
     */
    protect_admin: z.boolean().default(false),
    /**
     * Processes serving the port, each with its own upstream pools: 1 (default), a number, or
     * `auto` for one per core. The admin views (PoolStats, ListModels, /metrics) sum them all.
     */
    workers: z
      .union([z.number().int().positive().max(256), z.literal("auto")])
      .default(1)
      .transform((workers) => (workers === "auto" ? availableParallelism() : workers)),
    /** Limits per caller connection, so that no caller holds more than its share. */
    connections: ConnectionsSchema.default(ConnectionsSchema.parse({})),
    /** Browser callers: pages from these origins may call every API on the port. Default none (no CORS). */
    cors: z
      .strictObject({
        /** e.g. "https://app.example.com"; "*" allows any origin. */
        allowed_origins: z
          .array(
            z
              .string()
              .regex(/^(\*|https?:\/\/[^/?#]+)$/, 'must be an origin like "https://app.example.com", or "*"'),
          )
          .default([]),
      })
      .default({ allowed_origins: [] }),
  })
  .strict();

/** The pool knobs, without defaults: a provider's own `pool:` holds only what it sets. */
const poolFields = {
  /** false opens a fresh connection for every request: the baseline pooling is measured against. */
  pooling: z.boolean(),
  /** Connections per origin (HTTP/2 sessions, or HTTP/1.1 sockets). */
  max_connections: z.number().int().positive(),
  /** Streams per HTTP/2 connection; the server's SETTINGS may lower it. */
  max_concurrent_streams: z.number().int().positive(),
  /** Idle connections kept open per origin; more are closed as they go idle. */
  max_idle_connections: z.number().int().nonnegative(),
  /** An idle connection closes after this long. */
  keepalive_expiry: duration,
  /** TCP plus TLS handshake limit. */
  connect_timeout: duration,
  /** Limit on waiting for the upstream: for its response headers, and between body chunks. */
  request_timeout: duration,
  /** Open a connection to the origin at start, before the gateway reports ready. */
  warm_up: z.boolean(),
  /** HTTP/2 PING interval: keeps idle connections alive and finds dead ones; 0ms turns it off. */
  ping_interval: duration,
};

export const PoolSchema = z
  .object({
    pooling: poolFields.pooling.default(true),
    max_connections: poolFields.max_connections.default(4),
    max_concurrent_streams: poolFields.max_concurrent_streams.default(100),
    max_idle_connections: poolFields.max_idle_connections.default(4),
    // Long enough for PING to keep a warm connection open between bursts.
    keepalive_expiry: poolFields.keepalive_expiry.default(60_000),
    connect_timeout: poolFields.connect_timeout.default(10_000),
    request_timeout: poolFields.request_timeout.default(120_000),
    warm_up: poolFields.warm_up.default(true),
    ping_interval: poolFields.ping_interval.default(30_000),
  })
  .strict();

/** The same knobs as `pool`, each optional: a provider's own `pool:` overrides the defaults. */
const PoolOverrideSchema = z.object(poolFields).partial().strict();

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

const AzureOpenAIProviderSchema = z
  .object({
    type: z.literal("azure-openai"),
    /** The resource's endpoint, e.g. https://my-resource.openai.azure.com. Default AZURE_OPENAI_ENDPOINT. */
    endpoint: z.url({ protocol: /^https?$/ }).optional(),
    /**
     * A dated API version (`2024-10-21`, `2025-04-01-preview`): deployment URLs, each deployment's
     * `model` its Azure deployment name; or `v1` for the v1 API. Default OPENAI_API_VERSION, else 2024-10-21.
     */
    api_version: z
      .string()
      .regex(AZURE_API_VERSION, 'must be a dated version like "2024-10-21", or "v1"')
      .optional(),
    /** How the key is sent: `api-key` (a resource key, default) or `bearer` (a Microsoft Entra ID token). */
    auth: z.enum(["api-key", "bearer"]).default("api-key"),
    ...httpProviderFields,
  })
  .strict();

const GeminiProviderSchema = z
  .object({
    type: z.literal("gemini"),
    /** Where the API lives. Default GEMINI_BASE_URL, else https://generativelanguage.googleapis.com. */
    base_url: z.url({ protocol: /^https?$/ }).optional(),
    /** The API version in the path. Default v1beta: system instructions, JSON Schema output and thinking are there. */
    api_version: z
      .string()
      .regex(/^v\d+(alpha|beta)?\d*$/, 'must be a version like "v1beta" or "v1"')
      .optional(),
    ...httpProviderFields,
  })
  .strict();

/** What an AWS-signed provider shares with the others: not a key, which AWS's signature replaces. */
const { api_key_env: _notForAws, ...signedProviderFields } = httpProviderFields;

const BedrockProviderSchema = z
  .object({
    type: z.literal("bedrock"),
    /** The AWS region. Default AWS_REGION, else AWS_DEFAULT_REGION. */
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region like "us-east-1"')
      .optional(),
    /**
     * Where Bedrock Runtime lives. Default AWS_ENDPOINT_URL_BEDROCK_RUNTIME, else AWS_ENDPOINT_URL,
     * else https://bedrock-runtime.<region>.amazonaws.com.
     */
    base_url: z.url({ protocol: /^https?$/ }).optional(),
    /** The variables holding the credentials, named as the AWS SDKs read them by default. */
    access_key_id_env: z.string().min(1).default(AWS_CREDENTIAL_VARIABLES.access_key_id_env),
    secret_access_key_env: z.string().min(1).default(AWS_CREDENTIAL_VARIABLES.secret_access_key_env),
    /** Temporary credentials' session token; used when set. */
    session_token_env: z.string().min(1).default(AWS_CREDENTIAL_VARIABLES.session_token_env),
    ...signedProviderFields,
  })
  .strict();

/** An OpenAI-compatible service by name (src/providers/openai/presets.ts): its base URL and key variable preset. */
const PresetProviderSchema = z
  .object({
    type: z.enum(OPENAI_PRESET_NAMES),
    /** Default: the preset's. */
    base_url: z.url({ protocol: /^https?$/ }).optional(),
    ...httpProviderFields,
  })
  .strict();

export const ProviderSchema = z.discriminatedUnion("type", [
  DemoProviderSchema,
  OpenAIProviderSchema,
  AnthropicProviderSchema,
  AzureOpenAIProviderSchema,
  GeminiProviderSchema,
  BedrockProviderSchema,
  PresetProviderSchema,
]);

/** Every provider `type`, as a mistaken one is told: read from the schema, so none is left out. */
export const PROVIDER_TYPES: string[] = ProviderSchema.options.flatMap(({ shape }) =>
  shape.type instanceof z.ZodEnum ? shape.type.options : [...shape.type.values].map(String),
);

const DeploymentSchema = z
  .object({
    /** The name of a provider under `providers`. */
    provider: z.string().min(1),
    /** The model name the provider is asked for. */
    model: z.string().min(1),
    /** Share of traffic under weighted_random, and the tie-break under least_in_flight. Default 1; 0 = standby. */
    weight: z.number().min(0).default(1),
    /** Requests this deployment may carry at once; at the limit it is skipped. Default: no limit. */
    max_concurrent: z.number().int().positive().optional(),
    /** USD per million tokens, for usage and budgets. Default: the shipped price of a known OpenAI or Anthropic model, else 0. */
    price: z
      .strictObject({
        input: z.number().nonnegative(),
        output: z.number().nonnegative(),
        /** Input tokens the provider served from its prompt cache. Default: the input price. */
        cached_input: z.number().nonnegative().optional(),
      })
      .optional(),
  })
  .strict();

const ModelSchema = z
  .object({
    /** Other names that route to this model. */
    aliases: z.array(z.string().min(1)).default([]),
    /** Where the model is served. */
    deployments: z.array(DeploymentSchema).min(1),
    /** Models tried in order when every deployment of this one has failed or is cooling down. */
    fallbacks: z.array(z.string().min(1)).default([]),
    /** Answers kept and replayed for identical requests, and identical requests in flight coalesced. Default: off. */
    cache: z.strictObject({ ttl: duration }).optional(),
  })
  .strict();

export const CacheSchema = z
  .object({
    /** memory: this process, bounded by max_bytes; redis: shared by replicas, through `store.redis`. */
    store: z.enum(["memory", "redis"]).default("memory"),
    /** The in-process cache's size, counted in the bytes of its answers. Default 64MiB. */
    max_bytes: byteSize.default(64 * 1024 * 1024),
  })
  .strict();

export const RouterSchema = z
  .object({
    /** least_in_flight (default: the deployment with the fewest requests running, ties by weight) or weighted_random. */
    strategy: z.enum(["least_in_flight", "weighted_random"]).default("least_in_flight"),
    /** Upstream attempts per request, across deployments and fallbacks. Default 3. */
    max_attempts: z.number().int().min(1).max(20).default(3),
    /** First retry backoff; it doubles per retry, with full jitter. Default 50ms. */
    retry_backoff: duration.default(50),
    /** Longest backoff between two attempts. Default 2s. */
    max_retry_backoff: duration.default(2_000),
    /** Consecutive failures that take a deployment out of rotation. Default 3. */
    allowed_failures: z.number().int().min(1).default(3),
    /** How long a failing deployment stays out before one probe request. Default 30s. */
    cooldown: duration.default(30_000),
  })
  .strict();

export const ConfigSchema = z
  .object({
    server: ServerSchema.default(ServerSchema.parse({})),
    pool: PoolSchema.default(PoolSchema.parse({})),
    router: RouterSchema.default(RouterSchema.parse({})),
    providers: z.record(z.string().min(1), ProviderSchema).default({}),
    models: z.record(z.string().min(1), ModelSchema).default({}),
    /** Caller keys: with none, anyone who reaches the port may call (and a warning says so at start). */
    keys: KeysSchema.default([]),
    /** Where quota counters and usage live. Default: in process. */
    store: StoreSchema.default({}),
    /** Where cached answers live, for the models with `cache`. */
    cache: CacheSchema.default(CacheSchema.parse({})),
  })
  .strict()
  .superRefine(
    (config, ctx) => {
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
      checkFallbacks(config.models, names, ctx);
      if (config.cache?.store === "redis" && config.store?.redis === undefined)
        ctx.addIssue({
          code: "custom",
          path: ["cache", "store"],
          message: "is redis, and store.redis names no server: set store.redis.url",
        });
      // Read defensively: the refinement runs even when server or keys did not parse.
      if (config.server?.require_keys === true && Array.isArray(config.keys) && config.keys.length === 0)
        ctx.addIssue({
          code: "custom",
          path: ["keys"],
          message: "server.require_keys is on, and no key is configured",
        });
      if (
        (config.server?.workers ?? 1) > 1 &&
        Array.isArray(config.keys) &&
        config.keys.length > 0 &&
        config.store?.redis === undefined
      )
        ctx.addIssue({
          code: "custom",
          path: ["server", "workers"],
          message: `is ${config.server?.workers}, and keys are configured with no store.redis: each worker would count quotas and usage alone; set store.redis.url (shared by every worker) or workers: 1`,
        });
      if (
        config.server?.protect_admin === true &&
        Array.isArray(config.keys) &&
        !config.keys.some((key) => key.roles?.includes("admin"))
      )
        ctx.addIssue({
          code: "custom",
          path: ["server", "protect_admin"],
          message:
            "is on, and no key has the admin role: /metrics, PoolStats and ListModels would be closed to everyone",
        });
    },
    // Whatever is wrong elsewhere (a server setting, a duration): every mistake is reported in one
    // run, so the references are checked whenever the providers and models themselves parsed.
    { when: ({ issues }) => !issues.some(({ path }) => path?.[0] === "providers" || path?.[0] === "models") },
  );

/** Every fallback names a model, and no chain of fallbacks leads back to where it started. */
function checkFallbacks(
  models: Record<string, z.output<typeof ModelSchema>>,
  names: Map<string, string>,
  ctx: z.RefinementCtx,
): void {
  for (const [model, spec] of Object.entries(models)) {
    spec.fallbacks.forEach((fallback, i) => {
      const target = names.get(fallback);
      const path = ["models", model, "fallbacks", i];
      if (target === undefined) {
        ctx.addIssue({ code: "custom", path, message: `unknown model "${fallback}"` });
        return;
      }
      const loop = findLoop(models, names, target, [model]);
      if (loop) ctx.addIssue({ code: "custom", path, message: `fallback loop: ${loop.join(" -> ")}` });
    });
  }
}

function findLoop(
  models: Record<string, z.output<typeof ModelSchema>>,
  names: Map<string, string>,
  model: string,
  trail: string[],
): string[] | undefined {
  if (trail.includes(model)) return [...trail, model];
  for (const fallback of models[model]?.fallbacks ?? []) {
    const target = names.get(fallback);
    const loop = target === undefined ? undefined : findLoop(models, names, target, [...trail, model]);
    if (loop) return loop;
  }
  return undefined;
}

export type GatewayConfig = z.output<typeof ConfigSchema>;
export type ServerConfig = GatewayConfig["server"];
export type PoolConfig = GatewayConfig["pool"];
export type PoolOverride = z.output<typeof PoolOverrideSchema>;
export type ProviderConfig = GatewayConfig["providers"][string];
export type ModelConfig = GatewayConfig["models"][string];
export type RouterConfig = GatewayConfig["router"];
export type ConnectionsConfig = ServerConfig["connections"];
export type DeploymentConfig = ModelConfig["deployments"][number];
export type CacheConfig = GatewayConfig["cache"];
