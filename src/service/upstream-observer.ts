import { GatewayError } from "../errors/gateway-error.js";
import type { GatewayMetrics } from "../metrics/gateway-metrics.js";
import type { TokenUsage } from "../providers/provider.js";
import type { Deployment } from "../router/model-router.js";
import type { RpcFacts } from "./rpc-facts.js";

/**
 * Accounts for one RPC's upstream attempts: the upstream metrics (status, duration, time to
 * first token, tokens) and the time spent waiting on upstreams, from which the RPC's own
 * overhead follows.
 */
export class UpstreamObserver {
  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly facts: RpcFacts | undefined,
  ) {}

  /** Times `work` as upstream waiting. */
  async wait<T>(work: Promise<T>): Promise<T> {
    const startedAt = performance.now();
    try {
      return await work;
    } finally {
      this.addWait(performance.now() - startedAt);
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

  private addWait(ms: number): void {
    if (this.facts) this.facts.upstreamWaitMs = (this.facts.upstreamWaitMs ?? 0) + ms;
  }
}
