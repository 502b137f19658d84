import type { Price } from "./prices.js";

/**
 * Standard-tier prices in USD per million tokens, read on 2026-12-02 from OpenAI's model pages
 * (developers.openai.com/api/docs/models) and Anthropic's pricing and model pages
 * (platform.claude.com/docs/en/about-claude/pricing, .../models/overview). A deployment's own
 * `price` wins; check these against the providers' pages before billing anyone by them. Not
 * modelled: long-prompt tiers (Haiku 5.5 over 100K tokens, OpenAI over 272K), cache writes,
 * regional surcharges and batch discounts.
 */
export const SHIPPED_PRICES: Readonly<Record<string, Price>> = {
  // OpenAI
  "gpt-6.2-astra": { input: 8, cached_input: 0.4, output: 40 },
  "gpt-6.2-sol": { input: 2, cached_input: 0.1, output: 10 },
  "gpt-6.1-sol": { input: 2, cached_input: 0.1, output: 10 },
  "gpt-6.1-terra": { input: 1, cached_input: 0.05, output: 5 },
  "gpt-6-astra": { input: 10, cached_input: 1, output: 50 },
  "gpt-6-sol": { input: 2, cached_input: 0.2, output: 10 },
  "gpt-6-luna": { input: 0.1, cached_input: 0.01, output: 0.5 },
  "gpt-5.6": { input: 4, cached_input: 0.4, output: 20 },
  "gpt-5.6-sol": { input: 4, cached_input: 0.4, output: 20 },
  "gpt-5.6-terra": { input: 2, cached_input: 0.2, output: 12 },
  "gpt-5.6-luna": { input: 0.2, cached_input: 0.02, output: 1.2 },
  "gpt-5.5": { input: 5, cached_input: 0.5, output: 30 },
  "gpt-5.4": { input: 2.5, cached_input: 0.25, output: 15 },
  "gpt-5.4-mini": { input: 0.75, cached_input: 0.075, output: 4.5 },
  "gpt-5.4-nano": { input: 0.2, cached_input: 0.02, output: 1.25 },
  "gpt-5": { input: 1.25, cached_input: 0.125, output: 10 },
  "gpt-5-mini": { input: 0.25, cached_input: 0.025, output: 2 },
  "gpt-5-nano": { input: 0.05, cached_input: 0.005, output: 0.4 },
  o3: { input: 2, cached_input: 0.5, output: 8 },
  "gpt-4.1": { input: 2, cached_input: 0.5, output: 8 },
  "gpt-4.1-mini": { input: 0.4, cached_input: 0.1, output: 1.6 },
  "gpt-4o": { input: 2.5, cached_input: 1.25, output: 10 },
  "gpt-4o-mini": { input: 0.15, cached_input: 0.075, output: 0.6 },
  // Anthropic (cached input: cache hits and refreshes)
  "claude-fable-5-2": { input: 8, cached_input: 0.2, output: 40 },
  "claude-fable-5-1": { input: 10, cached_input: 0.25, output: 50 },
  "claude-fable-5": { input: 10, cached_input: 1, output: 50 },
  "claude-opus-5-5": { input: 4, cached_input: 0.2, output: 20 },
  "claude-opus-5": { input: 5, cached_input: 0.5, output: 25 },
  "claude-opus-4-8": { input: 5, cached_input: 0.5, output: 25 },
  "claude-opus-4-7": { input: 5, cached_input: 0.5, output: 25 },
  "claude-opus-4-6": { input: 5, cached_input: 0.5, output: 25 },
  "claude-opus-4-5": { input: 5, cached_input: 0.5, output: 25 },
  "claude-opus-4-1": { input: 15, cached_input: 1.5, output: 75 },
  "claude-sonnet-5-5": { input: 2, cached_input: 0.1, output: 10 },
  "claude-sonnet-5": { input: 2, cached_input: 0.2, output: 10 },
  "claude-sonnet-4-6": { input: 3, cached_input: 0.3, output: 15 },
  "claude-sonnet-4-5": { input: 3, cached_input: 0.3, output: 15 },
  "claude-haiku-5-5": { input: 0.1, cached_input: 0.01, output: 0.5 },
  "claude-haiku-4-5": { input: 1, cached_input: 0.1, output: 5 },
};
