/** With no config file the gateway serves the embedded demo upstream: no keys, no network. */
export const DEFAULT_CONFIG_DOCUMENT = {
  providers: { demo: { type: "demo" } },
  models: { demo: { deployments: [{ provider: "demo", model: "demo" }] } },
} as const;
