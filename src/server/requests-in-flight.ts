import type { RequestHandler } from "./listener.js";

/**
 * Counts the requests a handler is serving, so that a reload that replaces it knows when the calls
 * that began under the old config are done (their retries may still need its pools until then).
 */
export class RequestsInFlight {
  private inFlight = 0;
  private readonly idleWaiters = new Set<() => void>();

  /** `handler`, counting each request from its arrival until its response closes. */
  counting(handler: RequestHandler): RequestHandler {
    return (req, res) => {
      this.inFlight++;
      res.once("close", this.release);
      handler(req, res);
    };
  }

  /** Requests being served now. */
  get count(): number {
    return this.inFlight;
  }

  /** Resolves once no request is being served, or after `timeoutMs`, whichever comes first. */
  idle(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.idleWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs).unref();
      this.idleWaiters.add(done);
    });
  }

  private readonly release = () => {
    if (--this.inFlight > 0) return;
    for (const done of this.idleWaiters) done();
  };
}
