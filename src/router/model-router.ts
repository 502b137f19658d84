import { LRUCache } from "lru-cache";
import type { DeploymentConfig, ModelConfig, RouterConfig } from "../config/schema.js";
import { GatewayError } from "../errors/gateway-error.js";
import type { Logger } from "../log/logger.js";
import type { Provider } from "../providers/provider.js";
import { type Clock, systemClock } from "./clock.js";
import { DeploymentHealth } from "./deployment-health.js";
import { DeploymentSelector } from "./deployment-selector.js";
import { backoffMs, isRetryable, refusedByProvider, sleep } from "./retry-policy.js";

/** Passthrough models remembered (the most recently used): callers choose their names. */
export const MAX_REMEMBERED_PASSTHROUGH_MODELS = 1024;

/** What the router takes from its surroundings; the defaults are the real ones. */
export interface RouterDeps {
  /** Time for cooldowns, backoff and deadlines. Default: performance.now() and setTimeout. */
  clock?: Clock;
  /** Backoff jitter and weighted_random picks. Default: Math.random. */
  random?: () => number;
}

/** One place a model is served: a provider, the model name it is asked for, and what the router knows of it. */
export interface Deployment {
  provider: Provider;
  model: string;
  weight: number;
  /** Its price in the config, USD per million tokens; undefined: the shipped price of its model, if any. */
  price: DeploymentConfig["price"];
  health: DeploymentHealth;
  /** The same as health.inFlight, as selection reads it. */
  readonly inFlight: number;
}

/** A routable model, with its aliases, deployments and fallbacks. */
export interface RoutableModel {
  name: string;
  aliases: string[];
  deployments: Deployment[];
  fallbacks: string[];
  /** Named by the caller as `<provider>/<model>`, not by the configuration. */
  passthrough: boolean;
  /** How long its answers are cached, ms; undefined: not cached (unless a request asks). */
  cacheTtlMs?: number | undefined;
}

/** What the caller's RPC allows: its cancel and deadline bound every attempt and every wait. */
export interface CallBounds {
  signal: AbortSignal;
  /** The router clock's now() (performance.now() by default) by which the caller wants an answer; undefined for none. */
  deadline?: number | undefined;
}

/** A successful attempt: its value, where it ran, after how many attempts. */
export interface Routed<T> {
  value: T;
  model: RoutableModel;
  deployment: Deployment;
  attempts: number;
  /** Ends the deployment's count of requests in flight; for streams, once the stream is over. */
  release(error?: unknown): void;
}

/**
 * Resolves a model name to its group of deployments and runs a call on them: selection,
 * retries with backoff on another deployment, cooldowns, and fallback to other models,
 * never past the caller's deadline.
 */
export class ModelRouter {
  private readonly byName = new Map<string, RoutableModel>();
  private readonly passthroughModels: LRUCache<string, RoutableModel>;
  private readonly selector: DeploymentSelector;
  private readonly clock: Clock;
  private readonly random: () => number;
  readonly models: RoutableModel[];

  constructor(
    models: Record<string, ModelConfig>,
    private readonly providers: Map<string, Provider>,
    private readonly passthrough: Set<string>,
    private readonly policy: RouterConfig,
    private readonly logger: Logger,
    deps: RouterDeps = {},
  ) {
    this.clock = deps.clock ?? systemClock;
    this.random = deps.random ?? (() => Math.random());
    this.selector = new DeploymentSelector(policy.strategy, this.random);
    this.passthroughModels = new LRUCache({ max: MAX_REMEMBERED_PASSTHROUGH_MODELS });
    this.models = Object.entries(models)
      .map(([name, spec]) => ({
        name,
        aliases: spec.aliases,
        fallbacks: spec.fallbacks,
        passthrough: false,
        cacheTtlMs: spec.cache?.ttl,
        deployments: spec.deployments.map((d) =>
          this.deployment(
            providers.get(d.provider) as Provider,
            d.model,
            d.weight,
            d.max_concurrent,
            d.price,
          ),
        ),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
    for (const model of this.models) {
      for (const name of [model.name, ...model.aliases]) this.byName.set(name, model);
    }
  }

  /**
   * The model called `name`; `<provider>/<model>` reaches a passthrough provider directly.
   * NOT_FOUND names the known models.
   */
  resolve(name: string): RoutableModel {
    const model = this.byName.get(name) ?? this.passthroughModel(name);
    if (model !== undefined) return model;
    const patterns = [...this.passthrough].map((provider) => `${provider}/<model>`);
    const known = [...[...this.byName.keys()].sort(), ...patterns].join(", ") || "none";
    throw new GatewayError("not_found", `model "${name}" is not configured; known models: ${known}`, {
      reason: "MODEL_NOT_FOUND",
    });
  }

  /**
   * Runs `call` on a deployment of `name`, retrying retryable failures elsewhere (the model's
   * other deployments, then its fallbacks) until one succeeds, attempts run out, or the
   * deadline would pass. A non-retryable failure returns at once.
   */
  async run<T>(
    name: string,
    call: (deployment: Deployment) => Promise<T>,
    bounds: CallBounds,
  ): Promise<Routed<T>> {
    const chain = this.chain(this.resolve(name));
    const tried = new Set<Deployment>();
    let attempts = 0;
    let lastError: unknown;
    let previous: Deployment | undefined;
    let failure: Record<string, unknown> | undefined;
    // A deployment that cannot carry a field of the request sent nothing: the next one needs no wait.
    let refused = false;
    while (attempts < this.policy.max_attempts) {
      let next = this.pick(chain, tried);
      if (next === undefined) break;
      if (attempts > 0 && !refused) {
        await this.waitBeforeRetry(attempts, lastError, next.deployment === previous, bounds);
        // The wait took time: the one picked may have reached its limit, cooled down or begun a probe.
        next = this.pick(chain, tried);
        if (next === undefined) break;
        this.logger.warn(failure, "upstream attempt failed; retrying");
      }
      const { model, deployment } = next;
      attempts++;
      previous = deployment;
      tried.add(deployment);
      deployment.health.start();
      let released = false;
      const release = (error?: unknown) => {
        if (released) return;
        released = true;
        this.settle(deployment, error);
      };
      try {
        const value = await call(deployment);
        return { value, model, deployment, attempts, release };
      } catch (error) {
        release(error);
        lastError = error;
        // Another deployment of the chain (another provider's API) may carry what this one cannot.
        refused = refusedByProvider(error) && this.hasUntried(chain, tried);
        if (refused) continue;
        if (!isRetryable(error) || bounds.signal.aborted) throw error;
        // Logged once another attempt is sure to follow.
        failure = {
          model: model.name,
          provider: deployment.provider.name,
          attempt: attempts,
          error: (error as Error).message,
        };
      }
    }
    throw lastError ?? this.noDeploymentLeft(chain[0] as RoutableModel);
  }

  /** Whether the chain holds an available deployment this request has not tried. */
  private hasUntried(chain: RoutableModel[], tried: Set<Deployment>): boolean {
    const now = this.clock.now();
    return chain.some((model) => model.deployments.some((d) => d.health.available(now) && !tried.has(d)));
  }

  /** The configured models, then one `<provider>/*` entry per passthrough provider. */
  list(): RoutableModel[] {
    const patterns = [...this.passthrough].map((name) => ({
      name: `${name}/*`,
      aliases: [],
      fallbacks: [],
      passthrough: true,
      deployments: [this.deployment(this.providers.get(name) as Provider, "*", 1, undefined)],
    }));
    return [...this.models, ...patterns];
  }

  /** The model, then its fallbacks in order (and theirs), each once. */
  private chain(model: RoutableModel): RoutableModel[] {
    const chain: RoutableModel[] = [];
    const visit = (m: RoutableModel) => {
      if (chain.includes(m)) return;
      chain.push(m);
      for (const fallback of m.fallbacks) visit(this.resolve(fallback));
    };
    visit(model);
    return chain;
  }

  /**
   * The first group in the chain with an available deployment not yet tried by this request
   * picks one, so a group whose deployments all failed hands over to its fallback. When the
   * whole chain has been tried and attempts remain, the round starts again.
   */
  private pick(chain: RoutableModel[], tried: Set<Deployment>) {
    const now = this.clock.now();
    for (const untriedOnly of [true, false]) {
      for (const model of chain) {
        const candidates = model.deployments.filter(
          (d) => d.health.available(now) && !(untriedOnly && tried.has(d)),
        );
        const deployment = this.selector.pick(candidates);
        if (deployment !== undefined) return { model, deployment };
      }
    }
    return undefined;
  }

  private async waitBeforeRetry(retry: number, lastError: unknown, same: boolean, bounds: CallBounds) {
    const backoff = backoffMs(
      retry,
      { baseMs: this.policy.retry_backoff, maxMs: this.policy.max_retry_backoff },
      this.random,
    );
    // The provider's retry-after binds the deployment that said it; another one need not wait for it.
    const askedFor = same && lastError instanceof GatewayError ? (lastError.retryAfterMs ?? 0) : 0;
    const wait = Math.max(backoff, askedFor);
    if (bounds.deadline !== undefined && this.clock.now() + wait >= bounds.deadline) throw lastError;
    await sleep(wait, bounds.signal, this.clock);
  }

  private settle(deployment: Deployment, error: unknown): void {
    const now = this.clock.now();
    if (error === undefined) {
      deployment.health.succeed();
      return;
    }
    const failure = error instanceof GatewayError ? error : undefined;
    if (deployment.health.fail(failure, now)) {
      this.logger.warn(
        {
          provider: deployment.provider.name,
          model: deployment.model,
          cooldownMs: Math.round(deployment.health.cooldownRemainingMs(now)),
          error: failure?.message,
        },
        "deployment cooling down",
      );
    }
  }

  private noDeploymentLeft(model: RoutableModel): GatewayError {
    return new GatewayError(
      "unavailable",
      `every deployment of "${model.name}" is cooling down or at its limit`,
      {
        retryable: true,
        reason: "NO_DEPLOYMENT_AVAILABLE",
      },
    );
  }

  private deployment(
    provider: Provider,
    model: string,
    weight: number,
    maxConcurrent: number | undefined,
    price?: DeploymentConfig["price"],
  ): Deployment {
    const policy = { allowedFailures: this.policy.allowed_failures, cooldownMs: this.policy.cooldown };
    const health = new DeploymentHealth(policy, maxConcurrent);
    return {
      provider,
      model,
      weight,
      price,
      health,
      get inFlight() {
        return health.inFlight;
      },
    };
  }

  private passthroughModel(name: string): RoutableModel | undefined {
    const slash = name.indexOf("/");
    if (slash <= 0 || slash === name.length - 1) return undefined;
    const providerName = name.slice(0, slash);
    const provider = this.providers.get(providerName);
    if (provider === undefined || !this.passthrough.has(providerName)) return undefined;
    // Kept, so a passthrough model's health lasts from one request to the next; the least recently
    // used goes first, so a model in use keeps its health and a flood of made-up names cannot grow memory.
    let model = this.passthroughModels.get(name);
    if (model === undefined) {
      const deployment = this.deployment(provider, name.slice(slash + 1), 1, undefined);
      model = { name, aliases: [], fallbacks: [], passthrough: true, deployments: [deployment] };
      this.passthroughModels.set(name, model);
    }
    return model;
  }
}
