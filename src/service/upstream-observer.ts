import { GatewayError } from "../errors/gateway-error.js";
import type { GatewayMetrics } from "../metrics/gateway-metrics.js";
import type { TokenUsage } from "../providers/provider.js";
import type { Deployment } from "../router/model-router.js";

/**
 * Accounts for one call's upstream attempts: the upstream metrics (status, duration, time to
 * first token, tokens) and the time spent waiting on upstreams, from which the call's own
 * overhead follows.
 */
export class UpstreamObserver {
  /** Time spent waiting on upstreams so far, in ms. */
  waitedMs = 0;

  constructor(private readonly metrics: GatewayMetrics) {}

  /** Times `work` as upstream waiting. */
  async wait<T>(work: Promise<T>): Promise<T> {
    const startedAt = performance.now();
    try {
      return await work;
    } finally {
      this.waitedMs += performance.now() - startedAt;
    }
  }

  /** Records one finished attempt: its status (0 when none came back) and how long it took. */
  attempt(deployment: Deployment, error: unknown, startedAt: number): void {
    const labels = { provider: deployment.provider.name, origin: deployment.provider.origin };
    const status = error === undefined ? 200 : error instanceof GatewayError ? (error.status ?? 0) : 0;
    this.metrics.upstreamRequests.inc({ ...labels, status: String(status) });
    this.metrics.upstreamDuration.observe(labels, (performance.now() - startedAt) / 1000);
  }

  firstToken(deployment: Deployment, startedAt: number): void {
    const labels = { provider: deployment.provider.name, origin: deployment.provider.origin };
    this.metrics.timeToFirstToken.observe(labels, (performance.now() - startedAt) / 1000);
  }

  tokens(deployment: Deployment, model: string, usage: TokenUsage | undefined): void {
    if (usage === undefined) return;
    const provider = deployment.provider.name;
    this.metrics.tokens.inc({ provider, model, direction: "input" }, usage.inputTokens);
    this.metrics.tokens.inc({ provider, model, direction: "output" }, usage.outputTokens);
  }
}
