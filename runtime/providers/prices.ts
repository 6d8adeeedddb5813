import { z } from "zod";
import type { TokenUsage } from "../protocol/index.js";

/**
 * Model prices and the cost of a call. Prices are USD per 1M tokens, as the vendors publish them;
 * costs are computed in whole micro-dollars so that summing many calls never drifts.
 */

const usdPerMillion = z
  .number()
  .nonnegative()
  .max(1_000_000)
  // Six decimals of USD per 1M tokens is one pico-dollar per token: exact in the integer arithmetic below.
  .refine((value) => Math.abs(value * 1e6 - Math.round(value * 1e6)) < 1e-6, "at most 6 decimal places");

/** What one model costs: USD per 1M input (prompt) tokens and per 1M output (completion) tokens. */
export const modelPriceSchema = z.strictObject({ input: usdPerMillion, output: usdPerMillion });
export type ModelPrice = z.infer<typeof modelPriceSchema>;

/**
 * Prices by provider, then by model id. The model key `*` prices every model of that provider not
 * listed otherwise (used for `simulated`). Provider names are free strings so an override can
 * price a provider this build does not know yet.
 */
export const priceTableSchema = z.record(z.string().min(1), z.record(z.string().min(1), modelPriceSchema));
export type PriceTable = z.infer<typeof priceTableSchema>;

/**
 * The shipped list prices (standard tier, no batch or cache discounts). Vendors change prices;
 * deployments correct them with {@link withPriceOverrides} rather than waiting for a release.
 */
export const defaultPrices: PriceTable = {
  simulated: { "*": { input: 0, output: 0 } },
  openai: {
    "gpt-4o": { input: 2.5, output: 10 },
    "gpt-4o-mini": { input: 0.15, output: 0.6 },
    "gpt-4.1": { input: 2, output: 8 },
    "gpt-4.1-mini": { input: 0.4, output: 1.6 },
    "gpt-4.1-nano": { input: 0.1, output: 0.4 },
    "o3-mini": { input: 1.1, output: 4.4 },
    "o4-mini": { input: 1.1, output: 4.4 },
  },
  anthropic: {
    "claude-opus-4": { input: 15, output: 75 },
    "claude-opus-4-1": { input: 15, output: 75 },
    "claude-sonnet-4": { input: 3, output: 15 },
    "claude-sonnet-4-5": { input: 3, output: 15 },
    "claude-3-7-sonnet": { input: 3, output: 15 },
    "claude-haiku-4-5": { input: 1, output: 5 },
    "claude-3-5-haiku": { input: 0.8, output: 4 },
  },
};

/**
 * The defaults with `override` laid over them model by model (an override for one OpenAI model
 * keeps every other default). Throws a zod error naming the bad path when `override` is not a
 * {@link PriceTable} (e.g. a negative price or a misspelt field).
 */
export function withPriceOverrides(override: unknown, base: PriceTable = defaultPrices): PriceTable {
  const parsed = priceTableSchema.parse(override);
  const merged: PriceTable = {};
  for (const provider of new Set([...Object.keys(base), ...Object.keys(parsed)])) {
    merged[provider] = { ...base[provider], ...parsed[provider] };
  }
  return merged;
}

// Dated snapshots ("gpt-4o-2024-08-06", "claude-sonnet-4-20250514") and "-latest" aliases cost what
// their family costs; stripping only these suffixes keeps "gpt-4o" from pricing "gpt-4o-mini".
const snapshotSuffix = /-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$/;

/**
 * The price of `model` at `provider`: an exact entry, else the entry without a snapshot-date or
 * `-latest` suffix, else the provider's `*` entry. Undefined when the table does not know it.
 */
export function priceOf(prices: PriceTable, provider: string, model: string): ModelPrice | undefined {
  const models = prices[provider];
  if (!models) return undefined;
  return models[model] ?? models[model.replace(snapshotSuffix, "")] ?? models["*"];
}

export interface Cost {
  /** USD, equal to `microUsd / 1e6`. For display; sum `microUsd` instead. */
  usd: number;
  /** Whole micro-dollars (1e-6 USD), rounded half up: safe to add up across calls. */
  microUsd: number;
  /** False when the model has no price: the cost is then 0 and should be shown as unknown. */
  priced: boolean;
}

const million = 1_000_000n;

/** Micro-USD per 1M tokens, i.e. pico-USD per token, as an exact integer. */
function picoPerToken(usdPerMillionTokens: number): bigint {
  return BigInt(Math.round(usdPerMillionTokens * 1e6));
}

/**
 * What a call cost. Never throws: an unknown provider or model costs 0 with `priced: false`, so a
 * missing price shows up as "unpriced" rather than failing the call that already happened.
 * Computed with integers (bigint pico-dollars) and rounded once to micro-dollars.
 */
export function costOf(prices: PriceTable, provider: string, model: string, usage: TokenUsage): Cost {
  const price = priceOf(prices, provider, model);
  if (!price) return { usd: 0, microUsd: 0, priced: false };
  const pico =
    BigInt(usage.promptTokens) * picoPerToken(price.input) + BigInt(usage.completionTokens) * picoPerToken(price.output);
  const microUsd = Number((pico + million / 2n) / million);
  return { usd: microUsd / 1e6, microUsd, priced: true };
}
