import type { ProviderConfig } from "../config/schema.js";
import { DemoUpstream } from "./demo-upstream.js";

/** The embedded demo upstreams a config's demo providers are served by, by provider name. */
export interface DemoUpstreams {
  readonly byProvider: ReadonlyMap<string, DemoUpstream>;
  /** The upstreams of this set that `other` does not have (all of them, without `other`). */
  startedBeside(other: DemoUpstreams | undefined): DemoUpstream[];
  close(): Promise<void>;
}

/**
 * Starts an embedded demo upstream (TLS, HTTP/2, loopback) for each demo provider. On a reload,
 * `running` is the current set: a provider whose settings are unchanged keeps its upstream, so its
 * pool keeps its origin and its open connections.
 */
export async function startDemoUpstreams(
  configs: Record<string, ProviderConfig>,
  running?: DemoUpstreams,
): Promise<DemoUpstreams> {
  const byProvider = new Map<string, DemoUpstream>();
  const started: DemoUpstream[] = [];
  try {
    for (const [name, config] of Object.entries(configs)) {
      if (config.type !== "demo") continue;
      const delays = {
        timeToFirstTokenMs: config.time_to_first_token,
        interTokenDelayMs: config.inter_token_delay,
      };
      const current = running?.byProvider.get(name);
      if (current?.hasDelays(delays)) {
        byProvider.set(name, current);
        continue;
      }
      const upstream = new DemoUpstream(delays);
      started.push(upstream);
      byProvider.set(name, await upstream.start());
    }
  } catch (error) {
    await Promise.all(started.map((upstream) => upstream.close()));
    throw error;
  }
  return {
    byProvider,
    startedBeside: (other) =>
      [...byProvider.values()].filter((upstream) => other === undefined || !hasUpstream(other, upstream)),
    close: async () => {
      await Promise.all([...byProvider.values()].map((upstream) => upstream.close()));
    },
  };
}

const hasUpstream = (set: DemoUpstreams, upstream: DemoUpstream) =>
  [...set.byProvider.values()].includes(upstream);
