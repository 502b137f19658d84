import type { DeploymentConfig } from "../config/schema.js";
import type { TokenUsage } from "../providers/provider.js";
import { SHIPPED_PRICES } from "./shipped-prices.js";

/** USD per million tokens: input, output, and cached input (default: the input price). */
export type Price = NonNullable<DeploymentConfig["price"]>;

/** What a call cost, in USD; `priced` is false when no price was known for its model (cost 0). */
export interface Cost {
  usd: number;
  priced: boolean;
}

/**
 * The price of a deployment: the one its config gives, else the shipped price of the model it
 * asks its provider for (a dated snapshot such as gpt-4o-mini-2024-07-18 priced as its model),
 * else none.
 */
export function priceOf(model: string, configured: Price | undefined): Price | undefined {
  if (configured !== undefined) return configured;
  const name = model.includes("/") ? model.slice(model.lastIndexOf("/") + 1) : model;
  return SHIPPED_PRICES[name] ?? SHIPPED_PRICES[name.replace(/-(\d{4}-\d{2}-\d{2}|\d{8})$/, "")];
}

/** The cost of the tokens a call used: cached input at its own price, the rest of the input and the output at theirs. */
export function costOf(usage: TokenUsage, price: Price | undefined): Cost {
  if (price === undefined) return { usd: 0, priced: false };
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens);
  const usd =
    ((usage.inputTokens - cached) * price.input +
      cached * (price.cached_input ?? price.input) +
      usage.outputTokens * price.output) /
    1_000_000;
  return { usd, priced: true };
}
