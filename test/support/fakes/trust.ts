import { Agent, fetch as undiciFetch } from "undici";

/**
 * An undici Agent that trusts a fake's certificate; `http2: false` keeps it on HTTP/1.1.
 * Use it with undici's own `fetch` (Node's built-in fetch bundles an older undici), e.g. through
 * `trustingFetch`.
 */
export function trustingAgent(fake: { ca: string }, options: { http2?: boolean } = {}): Agent {
  return new Agent({ connect: { ca: fake.ca }, allowH2: options.http2 ?? true });
}

/**
 * A `fetch` for SDK clients (`new OpenAI({ fetch })`, `new Anthropic({ fetch })`) that sends through
 * `dispatcher`. Passing `fetchOptions: { dispatcher }` works too, but its type is Node's bundled
 * undici Dispatcher, which undici 8's Agent does not satisfy.
 */
export function trustingFetch(dispatcher: Agent): typeof globalThis.fetch {
  return ((input: Parameters<typeof undiciFetch>[0], init?: Parameters<typeof undiciFetch>[1]) =>
    undiciFetch(input, { ...init, dispatcher })) as unknown as typeof globalThis.fetch;
}
