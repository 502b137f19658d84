import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { ConfigError, loadConfig, parseConfig } from "../../src/config/load-config.js";

/** The problems a document is refused for; fails the test when it is accepted. */
function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    // The message is what an operator reads: every problem must be in it.
    for (const problem of configError.problems) expect(configError.message).toContain(problem);
    return configError.problems;
  }
  throw new Error("expected the config to be refused");
}

// More provider types may come; the message must list at least these.
const KNOWN_TYPES_LISTED = /^providers\.local\.type: unknown type \(expected one of: demo, openai\b.*\)$/;
const demoProvider = { demo: { type: "demo" } };
const demoModel = { deployments: [{ provider: "demo", model: "demo" }] };

describe("parseConfig names each mistake by its path", () => {
  test.each([
    {
      mistake: "an unknown provider in a deployment",
      document: {
        providers: { openai: { type: "openai" } },
        models: {
          "gpt-4o": {
            deployments: [
              { provider: "openai", model: "gpt-4o" },
              { provider: "opneai", model: "gpt-4o" },
            ],
          },
        },
      },
      problem: 'models.gpt-4o.deployments[1].provider: unknown provider "opneai" (configured: openai)',
    },
    {
      mistake: "an unknown provider type",
      document: { providers: { local: { type: "llamafile" } } },
      problem: KNOWN_TYPES_LISTED,
    },
    {
      mistake: "a missing provider type",
      document: { providers: { local: { base_url: "http://127.0.0.1:11434/v1" } } },
      problem: KNOWN_TYPES_LISTED,
    },
    {
      mistake: "a bad duration",
      document: { pool: { keepalive_expiry: "5 parsecs" } },
      problem: 'pool.keepalive_expiry: "5 parsecs" is not a duration (write 250ms, 5s, 2m or 1h)',
    },
    {
      mistake: "a bad duration in a provider's pool override",
      document: { providers: { demo: { type: "demo", pool: { connect_timeout: "soon" } } } },
      problem: 'providers.demo.pool.connect_timeout: "soon" is not a duration (write 250ms, 5s, 2m or 1h)',
    },
    {
      mistake: "a port out of range",
      document: { server: { port: 65536 } },
      problem: "server.port: Too big: expected number to be <=65535",
    },
    {
      mistake: "a negative port",
      document: { server: { port: -1 } },
      problem: "server.port: Too small: expected number to be >=0",
    },
    {
      mistake: "an unknown key",
      document: { server: { prot: 8080 } },
      problem: 'server: unknown key "prot"',
    },
    {
      mistake: "unknown keys in a deployment",
      document: {
        providers: demoProvider,
        models: { demo: { deployments: [{ provider: "demo", model: "demo", priority: 1, region: "eu" }] } },
      },
      problem: 'models.demo.deployments[0]: unknown keys "priority", "region"',
    },
    {
      mistake: "an unknown top-level key",
      document: { provider: demoProvider },
      problem: '(top level): unknown key "provider"',
    },
    {
      mistake: "empty deployments",
      document: { providers: demoProvider, models: { demo: { deployments: [] } } },
      problem: "models.demo.deployments: Too small: expected array to have >=1 items",
    },
    {
      mistake: "a model named like another model's alias",
      document: {
        providers: demoProvider,
        models: { fast: { aliases: ["small"], deployments: demoModel.deployments }, small: demoModel },
      },
      problem: 'models.small: "small" already names model "fast"',
    },
    {
      mistake: "an alias naming another model",
      document: {
        providers: demoProvider,
        models: { fast: demoModel, small: { aliases: ["mini", "fast"], deployments: demoModel.deployments } },
      },
      problem: 'models.small.aliases[1]: "fast" already names model "fast"',
    },
    {
      mistake: "a base_url that is not a URL",
      document: { providers: { openai: { type: "openai", base_url: "api.openai.com/v1" } } },
      problem: "providers.openai.base_url: Invalid URL",
    },
    {
      mistake: "a base_url that is not http(s)",
      document: { providers: { openai: { type: "openai", base_url: "ftp://api.openai.com/v1" } } },
      problem: "providers.openai.base_url: Invalid URL",
    },
  ])("$mistake", ({ document, problem }) => {
    const problems = problemsOf(() => parseConfig(document));
    if (typeof problem === "string") expect(problems).toEqual([problem]);
    else expect(problems).toEqual([expect.stringMatching(problem)]);
  });

  test("server.workers: a number, or auto for one per core; keys need store.redis beside more than one", () => {
    expect(parseConfig({ server: { workers: "auto" } }).server.workers).toBe(availableParallelism());
    expect(parseConfig({ server: { workers: 3 } }).server.workers).toBe(3);
    expect(parseConfig({}).server.workers).toBe(1);
    expect(problemsOf(() => parseConfig({ server: { workers: 0 } }))).toEqual([
      expect.stringMatching(/^server\.workers: /),
    ]);
    const keys = [{ name: "team", sha256: "a".repeat(64) }];
    expect(problemsOf(() => parseConfig({ server: { workers: 2 }, keys }))).toEqual([
      "server.workers: is 2, and keys are configured with no store.redis: each worker would count quotas and usage alone; set store.redis.url (shared by every worker) or workers: 1",
    ]);
    const shared = { server: { workers: 2 }, keys, store: { redis: { url: "redis://127.0.0.1:6379" } } };
    expect(parseConfig(shared).server.workers).toBe(2);
  });

  test("an unknown provider type lists every type there is", () => {
    const [problem] = problemsOf(() => parseConfig({ providers: { aws: { type: "bedrok" } } }));
    for (const type of ["azure-openai", "gemini", "bedrock", "groq", "vllm"]) expect(problem).toContain(type);
  });

  test("every mistake is listed, not just the first", () => {
    const problems = problemsOf(() =>
      parseConfig({
        server: { port: 70000, prot: 1 },
        models: { demo: demoModel },
      }),
    );
    expect(problems).toEqual([
      "server.port: Too big: expected number to be <=65535",
      'server: unknown key "prot"',
      'models.demo.deployments[0].provider: unknown provider "demo" (configured: none)',
    ]);
  });

  test("a mistake elsewhere does not hide the references: the README's example comes from one file", () => {
    const problems = problemsOf(() =>
      parseConfig({
        server: { drain_timeout: "5 parsecs" },
        providers: { openai: { type: "openai", api_key_env: "OPENAI_API_KEY" }, demo: { type: "demo" } },
        models: {
          "gpt-4o": {
            deployments: [
              { provider: "openai", model: "gpt-4o" },
              { provider: "opneai", model: "gpt-4o" },
            ],
          },
          fast: { deployments: [{ provider: "demo", model: "demo" }], fallbacks: ["slow"] },
          slow: { deployments: [{ provider: "demo", model: "demo" }], fallbacks: ["fast"] },
        },
      }),
    );
    const readme = readFileSync(join(import.meta.dirname, "..", "..", "README.md"), "utf8");
    const example = /```\ninvalid config \(gateway\.yaml\):\n((?: {2}.*\n)+)```/.exec(readme)?.[1];
    expect(
      example
        ?.trimEnd()
        .split("\n")
        .map((line) => line.trim()),
    ).toEqual(problems);
  });

  test("the message names the source", () => {
    try {
      parseConfig({ server: { port: "80" } }, "gateway.yaml");
      expect.unreachable("a string port must be refused");
    } catch (error) {
      expect((error as ConfigError).message).toBe(
        "invalid config (gateway.yaml):\n  server.port: Invalid input: expected number, received string",
      );
    }
  });
});

describe("a valid full config", () => {
  const config = parseConfig({
    server: {
      host: "0.0.0.0",
      port: 9090,
      tls: { cert_file: "cert.pem", key_file: "key.pem" },
      max_request_bytes: 65536,
      drain_timeout: "2m",
      watch_config: true,
      default_deadline: "90s",
      max_in_flight: 64,
      max_event_loop_delay: "250ms",
      connections: { max: 500, idle_timeout: "1m", headers_timeout: "5s", max_header_bytes: 8192 },
      require_keys: true,
      protect_admin: true,
      workers: 2,
    },
    pool: {
      pooling: true,
      max_connections: 8,
      max_concurrent_streams: 50,
      max_idle_connections: 2,
      keepalive_expiry: "5s",
      connect_timeout: "250ms",
      request_timeout: "1h",
    },
    providers: {
      demo: { type: "demo", time_to_first_token: "250ms", inter_token_delay: "1.5s" },
      openai: {
        type: "openai",
        base_url: "https://api.openai.com/v1",
        api_key_env: "OPENAI_API_KEY",
        pool: { pooling: false, request_timeout: "30s" },
      },
    },
    models: {
      "gpt-4o": {
        aliases: ["4o"],
        deployments: [{ provider: "openai", model: "gpt-4o-2024-08-06", weight: 1 }],
      },
      demo: { deployments: [{ provider: "demo", model: "demo", price: { input: 0.5, output: 1.5 } }] },
    },
    keys: [
      {
        name: "search-team",
        sha256: "A".repeat(64),
        models: ["gpt-4o*", "demo"],
        roles: ["admin"],
        expires: "2027-06-30",
        limits: {
          requests_per_minute: 100,
          tokens_per_minute: 50_000,
          concurrent: 10,
          budget_usd: { amount: 50, per: "month" },
        },
      },
    ],
    store: { redis: { url: "redis://127.0.0.1:6379" } },
  });

  test("durations become milliseconds", () => {
    expect(config.server.drain_timeout).toBe(120_000);
    expect(config.pool.keepalive_expiry).toBe(5_000);
    expect(config.pool.connect_timeout).toBe(250);
    expect(config.pool.request_timeout).toBe(3_600_000);
    expect(config.providers.demo).toEqual({
      type: "demo",
      time_to_first_token: 250,
      inter_token_delay: 1_500,
    });
  });

  test("every section keeps what was written", () => {
    expect(config.server).toEqual({
      host: "0.0.0.0",
      port: 9090,
      tls: { cert_file: "cert.pem", key_file: "key.pem" },
      max_request_bytes: 65536,
      drain_timeout: 120_000,
      watch_config: true,
      default_deadline: 90_000,
      max_in_flight: 64,
      max_event_loop_delay: 250,
      connections: {
        max: 500,
        idle_timeout: 60_000,
        headers_timeout: 5_000,
        request_timeout: 30_000,
        max_concurrent_streams: 100,
        max_header_bytes: 8192,
      },
      cors: { allowed_origins: [] },
      require_keys: true,
      protect_admin: true,
      workers: 2,
    });
    expect(config.pool).toMatchObject({
      pooling: true,
      max_connections: 8,
      max_concurrent_streams: 50,
      max_idle_connections: 2,
    });
    expect(config.providers.openai).toMatchObject({
      type: "openai",
      base_url: "https://api.openai.com/v1",
      api_key_env: "OPENAI_API_KEY",
      pool: { pooling: false, request_timeout: 30_000 },
    });
    expect(config.models["gpt-4o"]).toEqual({
      aliases: ["4o"],
      deployments: [{ provider: "openai", model: "gpt-4o-2024-08-06", weight: 1 }],
      fallbacks: [],
    });
    expect(config.models.demo?.aliases).toEqual([]);
    expect(config.models.demo?.deployments[0]?.price).toEqual({ input: 0.5, output: 1.5 });
    expect(config.keys).toEqual([
      {
        name: "search-team",
        sha256: "a".repeat(64),
        models: ["gpt-4o*", "demo"],
        roles: ["admin"],
        expires: Date.UTC(2027, 5, 30),
        limits: {
          requests_per_minute: 100,
          tokens_per_minute: 50_000,
          concurrent: 10,
          budget_usd: { amount: 50, per: "month" },
        },
      },
    ]);
    expect(config.store).toEqual({
      redis: { url: "redis://127.0.0.1:6379", key_prefix: "weaver:", timeout: 250, when_unreachable: "open" },
    });
  });

  // Regression: zod 4's .partial() kept the inner defaults, so an override filled every knob it did
  // not set with the built-in default and the top-level `pool:` never reached that provider.
  test("a provider's pool override holds only what it sets; the rest comes from `pool`", () => {
    expect(config.providers.openai?.pool).toEqual({ pooling: false, request_timeout: 30_000 });
  });

  test("omitted settings get their defaults", () => {
    const minimal = parseConfig({});
    expect(minimal.server).toEqual({
      host: "127.0.0.1",
      port: 8080,
      max_request_bytes: 1024 * 1024,
      drain_timeout: 10_000,
      watch_config: false,
      default_deadline: 600_000,
      max_in_flight: 1000,
      max_event_loop_delay: 500,
      connections: {
        max: 10_000,
        idle_timeout: 300_000,
        headers_timeout: 10_000,
        request_timeout: 30_000,
        max_concurrent_streams: 100,
        max_header_bytes: 16 * 1024,
      },
      cors: { allowed_origins: [] },
      require_keys: false,
      protect_admin: false,
      workers: 1,
    });
    expect(minimal.pool).toEqual({
      pooling: true,
      max_connections: 4,
      max_concurrent_streams: 100,
      max_idle_connections: 4,
      keepalive_expiry: 60_000,
      connect_timeout: 10_000,
      request_timeout: 120_000,
      warm_up: true,
      ping_interval: 30_000,
    });
    expect(minimal.providers).toEqual({});
    expect(minimal.models).toEqual({});
  });
});

describe("loadConfig", () => {
  const dir = mkdtempSync(join(tmpdir(), "weaver-config-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function writeConfig(name: string, text: string): string {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  }

  test("no file gives the demo default: one provider and one model, both named demo", () => {
    const config = loadConfig();
    expect(config.providers).toEqual({
      demo: { type: "demo", time_to_first_token: 0, inter_token_delay: 0 },
    });
    expect(config.models).toEqual({
      demo: { aliases: [], deployments: [{ provider: "demo", model: "demo", weight: 1 }], fallbacks: [] },
    });
    expect(config.server.port).toBe(8080);
  });

  test("the default is not shared between loads", () => {
    const first = loadConfig({ env: { PORT: "9001" } });
    const second = loadConfig();
    expect(first.server.port).toBe(9001);
    expect(second.server.port).toBe(8080);
  });

  test("a YAML file is read and validated", () => {
    const file = writeConfig(
      "valid.yaml",
      [
        "server:",
        "  port: 9000",
        "  drain_timeout: 250ms",
        "providers:",
        "  local:",
        "    type: demo",
        "models:",
        "  chat:",
        "    deployments:",
        "      - provider: local",
        "        model: demo",
      ].join("\n"),
    );
    const config = loadConfig({ file });
    expect(config.server.port).toBe(9000);
    expect(config.server.drain_timeout).toBe(250);
    expect(Object.keys(config.models)).toEqual(["chat"]);
  });

  test("a mistake in a file is named with the file as its source", () => {
    const file = writeConfig("mistake.yaml", "pool:\n  keepalive_expiry: 5 parsecs\n");
    try {
      loadConfig({ file });
      expect.unreachable("a bad duration must be refused");
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).source).toBe(file);
      expect((error as ConfigError).message).toContain(`invalid config (${file})`);
      expect((error as ConfigError).problems).toEqual([
        'pool.keepalive_expiry: "5 parsecs" is not a duration (write 250ms, 5s, 2m or 1h)',
      ]);
    }
  });

  test("a YAML syntax error is one problem, on one line", () => {
    const file = writeConfig("broken.yaml", "server:\n  port: [8080\nmodels: {}\n");
    const problems = problemsOf(() => loadConfig({ file }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^not valid YAML: /);
    expect(problems[0]).not.toContain("\n");
  });

  test.each([
    { what: "a missing file", path: () => join(dir, "absent.yaml"), code: "ENOENT" },
    { what: "a directory", path: () => dir, code: "EISDIR" },
  ])("$what cannot be read ($code)", ({ path, code }) => {
    expect(problemsOf(() => loadConfig({ file: path() }))).toEqual([`cannot read the file: ${code}`]);
  });

  test("an empty file is the default", () => {
    const config = loadConfig({ file: writeConfig("empty.yaml", "") });
    expect(Object.keys(config.models)).toEqual(["demo"]);
    expect(config.server.port).toBe(8080);
  });

  test("a file without models adds to the default: the README's CORS snippet keeps the demo", () => {
    const file = writeConfig(
      "cors-only.yaml",
      'server:\n  cors:\n    allowed_origins: ["http://localhost:5173"]\n',
    );
    const config = loadConfig({ file, env: { OPENAI_API_KEY: "sk-test" } });
    expect(config.server.cors.allowed_origins).toEqual(["http://localhost:5173"]);
    expect(Object.keys(config.models)).toEqual(["demo"]);
    // The key-based providers of the default stay too.
    expect(Object.keys(config.providers).sort()).toEqual(["demo", "openai"]);
  });

  test("a file's providers sit beside the default's, and win a shared name", () => {
    const file = writeConfig(
      "providers-only.yaml",
      "providers:\n  demo:\n    type: demo\n    inter_token_delay: 20ms\n  local:\n    type: demo\n",
    );
    const config = loadConfig({ file });
    expect(Object.keys(config.providers).sort()).toEqual(["demo", "local"]);
    expect(config.providers.demo).toMatchObject({ type: "demo", inter_token_delay: 20 });
    expect(Object.keys(config.models)).toEqual(["demo"]);
  });

  test("a file with models of its own routes only those, on its own providers", () => {
    const file = writeConfig(
      "own-models.yaml",
      "providers:\n  local:\n    type: demo\nmodels:\n  chat:\n    deployments:\n      - provider: local\n        model: demo\n",
    );
    const config = loadConfig({ file });
    expect(Object.keys(config.models)).toEqual(["chat"]);
    expect(Object.keys(config.providers)).toEqual(["local"]);
  });

  test("files the config names are found from its folder; absolute paths stay", () => {
    const folder = join(dir, "paths");
    mkdirSync(join(folder, "certs"), { recursive: true });
    for (const file of [join(folder, "certs", "server.crt"), join(dir, "server.key"), join(dir, "ca.pem")])
      writeFileSync(file, "PEM");
    const file = join(folder, "gateway.yaml");
    writeFileSync(
      file,
      [
        "server:",
        "  tls:",
        "    cert_file: certs/server.crt",
        `    key_file: ${join(dir, "server.key")}`,
        "providers:",
        "  vllm:",
        "    type: openai",
        "    base_url: https://vllm.internal/v1",
        "    ca_file: ../ca.pem",
      ].join("\n"),
    );
    const config = loadConfig({ file });
    expect(config.server.tls).toEqual({
      cert_file: join(folder, "certs", "server.crt"),
      key_file: join(dir, "server.key"),
    });
    expect(config.providers.vllm).toMatchObject({ ca_file: join(dir, "ca.pem") });
  });

  test("key variables and files are checked with the schema, every problem in one run", () => {
    const file = writeConfig(
      "outside.yaml",
      [
        "server:",
        "  drain_timeout: 5 parsecs",
        "  tls: { cert_file: absent.crt, key_file: absent.key }",
        "providers:",
        "  openai: { type: openai, api_key_env: WEAVER_TEST_UNSET_KEY, ca_file: absent-ca.pem }",
        "  demo: { type: demo }",
        "models:",
        "  chat: { deployments: [{ provider: opneai, model: gpt-4o }] }",
      ].join("\n"),
    );
    expect(problemsOf(() => loadConfig({ file, env: {} }))).toEqual([
      'server.drain_timeout: "5 parsecs" is not a duration (write 250ms, 5s, 2m or 1h)',
      'models.chat.deployments[0].provider: unknown provider "opneai" (configured: openai, demo)',
      `server.tls.cert_file: cannot read ${join(dir, "absent.crt")} (ENOENT)`,
      `server.tls.key_file: cannot read ${join(dir, "absent.key")} (ENOENT)`,
      "providers.openai.api_key_env: the environment variable WEAVER_TEST_UNSET_KEY is not set",
      `providers.openai.ca_file: cannot read ${join(dir, "absent-ca.pem")} (ENOENT)`,
    ]);
  });

  test("models: {} turns the default off", () => {
    const config = loadConfig({ file: writeConfig("no-models.yaml", "models: {}\n") });
    expect(config.models).toEqual({});
    expect(config.providers).toEqual({});
  });

  test("providers that are not a map are named by the schema, not merged", () => {
    const file = writeConfig("bad-providers.yaml", "providers: [demo]\n");
    expect(problemsOf(() => loadConfig({ file }))[0]).toMatch(/^providers: /);
  });

  test("PORT and HOST override the file", () => {
    const file = writeConfig("ports.yaml", "server:\n  host: 127.0.0.1\n  port: 9000\n");
    const config = loadConfig({ file, env: { PORT: "9443", HOST: "0.0.0.0" } });
    expect(config.server.port).toBe(9443);
    expect(config.server.host).toBe("0.0.0.0");
  });

  test("PORT that is not a number is refused", () => {
    expect(problemsOf(() => loadConfig({ env: { PORT: "http" } }))).toEqual([
      'PORT: "http" is not a port number',
    ]);
  });

  test("PORT out of range is refused by the schema", () => {
    expect(problemsOf(() => loadConfig({ env: { PORT: "70000" } }))).toEqual([
      "server.port: Too big: expected number to be <=65535",
    ]);
  });
});
