/** What came back for one case, whatever carried it. */
export interface Exchange {
  /** The HTTP status, when a response head arrived. */
  status?: number;
  headers: Record<string, string>;
  body: Buffer;
  trailers: Record<string, string>;
  /** How it ended without (or after) an answer: "closed", "reset <code>", "goaway", an error code. */
  ended?: string;
  /** No answer, and the connection still open, when the guard ran out. */
  hung?: boolean;
  /** The harness could not send the case (not the gateway's doing). */
  unsent?: string;
}

/** How long one case may take before it counts as a hang: generous, for a loaded 2-core machine. */
export const CASE_GUARD_MS = 15_000;

export const emptyExchange = (): Exchange => ({ headers: {}, body: Buffer.alloc(0), trailers: {} });
