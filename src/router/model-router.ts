import type { ModelConfig } from "../config/schema.js";
import { GatewayError } from "../errors/gateway-error.js";
import type { Provider } from "../providers/provider.js";

/** One place a model is served: a provider and the model name it is asked for. */
export interface Deployment {
  provider: Provider;
  model: string;
}

/** A routable model, with its aliases and deployments. */
export interface RoutableModel {
  name: string;
  aliases: string[];
  deployments: Deployment[];
}

/** Resolves a model name or alias to the deployment that serves it. */
export class ModelRouter {
  private readonly byName = new Map<string, RoutableModel>();
  readonly models: RoutableModel[];

  constructor(
    models: Record<string, ModelConfig>,
    private readonly providers: Map<string, Provider>,
    private readonly passthrough: Set<string> = new Set(),
  ) {
    this.models = Object.entries(models)
      .map(([name, spec]) => ({
        name,
        aliases: spec.aliases,
        deployments: spec.deployments.map((d) => ({
          provider: providers.get(d.provider) as Provider,
          model: d.model,
        })),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
    for (const model of this.models) {
      for (const name of [model.name, ...model.aliases]) this.byName.set(name, model);
    }
  }

  /**
   * The model named `name` and the deployment to send to; `<provider>/<model>` reaches a
   * passthrough provider directly. NOT_FOUND names the known models.
   */
  route(name: string): { model: RoutableModel; deployment: Deployment } {
    const model = this.byName.get(name) ?? this.passthroughModel(name);
    if (model === undefined) {
      const patterns = [...this.passthrough].map((provider) => `${provider}/<model>`);
      const known = [...[...this.byName.keys()].sort(), ...patterns].join(", ") || "none";
      throw new GatewayError("not_found", `model "${name}" is not configured; known models: ${known}`, {
        reason: "MODEL_NOT_FOUND",
      });
    }
    return { model, deployment: model.deployments[0] as Deployment };
  }

  /** The configured models, then one `<provider>/*` entry per passthrough provider. */
  list(): RoutableModel[] {
    const patterns = [...this.passthrough].map((name) => ({
      name: `${name}/*`,
      aliases: [],
      deployments: [{ provider: this.providers.get(name) as Provider, model: "*" }],
    }));
    return [...this.models, ...patterns];
  }

  private passthroughModel(name: string): RoutableModel | undefined {
    const slash = name.indexOf("/");
    if (slash <= 0 || slash === name.length - 1) return undefined;
    const providerName = name.slice(0, slash);
    const provider = this.providers.get(providerName);
    if (provider === undefined || !this.passthrough.has(providerName)) return undefined;
    return { name, aliases: [], deployments: [{ provider, model: name.slice(slash + 1) }] };
  }
}
