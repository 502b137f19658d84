import { afterAll, beforeAll } from "vitest";
import { PoolSchema } from "../../src/config/schema.js";
import type { ChatRequest, ChatStreamEvent, Provider, StreamFinish } from "../../src/providers/provider.js";
import { UpstreamPools } from "../../src/upstream/upstream-pools.js";

/**
 * A provider as the gateway builds it, a real HttpProvider through real UpstreamPools, sending to a
 * fake upstream that trusts nothing but its own certificate; started before the file's tests and
 * closed after them.
 */
export function providerOverFake<F extends { origin: string; ca: string; close(): Promise<void> }>(
  start: () => Promise<F>,
  create: (fake: F, pools: UpstreamPools) => Provider,
): { fake: () => F; provider: () => Provider } {
  let fake: F;
  let pools: UpstreamPools;
  let provider: Provider;
  beforeAll(async () => {
    fake = await start();
    pools = new UpstreamPools(PoolSchema.parse({ warm_up: false }));
    pools.register(fake.origin, { ca: fake.ca });
    provider = create(fake, pools);
  });
  afterAll(async () => {
    await pools?.close();
    await fake?.close();
  });
  return { fake: () => fake, provider: () => provider };
}

/** A stream's events and how it ended: its finish, or the error it threw instead. */
export async function streamOf(
  provider: Provider,
  chat: ChatRequest,
): Promise<{ events: ChatStreamEvent[]; finish: StreamFinish | undefined; error: unknown }> {
  const events: ChatStreamEvent[] = [];
  let error: unknown;
  try {
    for await (const event of provider.stream(chat, new AbortController().signal)) events.push(event);
  } catch (caught) {
    error = caught;
  }
  const finish = events.find((event): event is StreamFinish => event.type === "finish");
  return { events, finish, error };
}
