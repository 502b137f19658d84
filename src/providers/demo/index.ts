import type { PoolOverride } from "../../config/schema.js";
import type { DemoUpstream } from "../../demo/demo-upstream.js";
import type { OriginRegistry } from "../../upstream/upstream-pools.js";
import { createOpenAIProvider } from "../openai/index.js";
import type { Provider } from "../provider.js";

/** The demo provider: the OpenAI wire format, sent to the embedded demo upstream and trusting its certificate. */
export function createDemoProvider(
  name: string,
  upstream: DemoUpstream,
  pools: OriginRegistry,
  pool: PoolOverride | undefined,
): Provider {
  return createOpenAIProvider({ name, baseUrl: `${upstream.origin}/v1` }, pools, {
    ca: upstream.ca,
    ...(pool ? { pool } : {}),
  });
}
