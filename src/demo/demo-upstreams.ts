import type { ProviderConfig } from "../config/schema.js";
import { DemoUpstream } from "./demo-upstream.js";

/** The embedded demo upstreams a config's demo providers are served by, by provider name. */
export interface DemoUpstreams {
  readonly byProvider: ReadonlyMap<string, DemoUpstream>;
  close(): Promise<void>;
}

/** Starts an embedded demo upstream (TLS, HTTP/2, loopback) for each demo provider. */
export async function startDemoUpstreams(configs: Record<string, ProviderConfig>): Promise<DemoUpstreams> {
  const byProvider = new Map<string, DemoUpstream>();
  const close = async () => {
    await Promise.all([...byProvider.values()].map((upstream) => upstream.close()));
  };
  try {
    for (const [name, config] of Object.entries(configs)) {
      if (config.type !== "demo") continue;
      const upstream = new DemoUpstream({
        timeToFirstTokenMs: config.time_to_first_token,
        interTokenDelayMs: config.inter_token_delay,
      });
      byProvider.set(name, await upstream.start());
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { byProvider, close };
}
