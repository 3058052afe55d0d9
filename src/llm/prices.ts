// What a request cost, in USD. A small built-in table of list prices for common
// hosted models; `price` in the config overrides it (and is the way to price
// anything not listed). Models served on the board's own network cost nothing.
import type { ModelConfig, ProviderKind, UsageEvent } from './types.ts';

/** USD per million tokens. */
export interface Price {
  input: number;
  output: number;
}

// List prices per million tokens (input, output), from the vendors' pricing
// pages. Keyed by model-name prefix; the longest matching prefix wins, so
// "gpt-4o-mini-2024-07-18" finds "gpt-4o-mini", not "gpt-4o".
const TABLE: ReadonlyArray<readonly [string, number, number]> = [
  ['gpt-4o', 2.5, 10],
  ['gpt-4o-mini', 0.15, 0.6],
  ['gpt-4.1', 2, 8],
  ['gpt-4.1-mini', 0.4, 1.6],
  ['gpt-4.1-nano', 0.1, 0.4],
  ['gpt-5', 1.25, 10],
  ['gpt-5-mini', 0.25, 2],
  ['gpt-5-nano', 0.05, 0.4],
  ['o3-mini', 1.1, 4.4],
  ['o4-mini', 1.1, 4.4],
  ['claude-3-haiku', 0.25, 1.25],
  ['claude-3-5-haiku', 0.8, 4],
  ['claude-haiku-4-5', 1, 5],
  ['claude-3-5-sonnet', 3, 15],
  ['claude-3-7-sonnet', 3, 15],
  ['claude-sonnet-4', 3, 15],
  ['claude-sonnet-4-5', 3, 15],
  ['claude-opus-4', 15, 75],
  ['claude-opus-4-1', 15, 75],
  ['claude-opus-4-5', 5, 25],
];

const SEPARATOR = /[-:@]/;
const SORTED = [...TABLE].sort((a, b) => b[0].length - a[0].length);

const LOCAL: ReadonlySet<ProviderKind> = new Set<ProviderKind>(['ollama', 'lmstudio']);

/**
 * The price of a model: the config's `price` if set, 0 for local servers
 * (Ollama, LM Studio), the built-in table otherwise, or undefined when unknown
 * (an `openai-compatible` server or an unlisted model: set `price` in the config).
 */
export function priceOf(model: Pick<ModelConfig, 'provider' | 'model' | 'price'>): Price | undefined {
  if (model.price) return model.price;
  if (LOCAL.has(model.provider)) return { input: 0, output: 0 };
  // OpenRouter names models "vendor/model"; Anthropic ids may carry a date suffix,
  // which the prefix match tolerates.
  const name = model.model.toLowerCase().replace(/^.*\//, '');
  for (const [prefix, input, output] of SORTED) {
    // A separator must follow the prefix: "gpt-5" must not claim "gpt-50".
    if (name === prefix || (name.startsWith(prefix) && SEPARATOR.test(name[prefix.length] ?? ''))) return { input, output };
  }
  return undefined;
}

/** USD for these token counts; 0 when the price is unknown (see priceOf). */
export function costOf(model: Pick<ModelConfig, 'provider' | 'model' | 'price'>, usage: { input: number; output: number }): number {
  const p = priceOf(model);
  if (!p) return 0;
  return (usage.input * p.input + usage.output * p.output) / 1_000_000;
}

/** The `usage` stream event for one finished request, priced when the price is known. */
export function pricedUsage(model: ModelConfig, input: number, output: number): UsageEvent {
  const ev: UsageEvent = { type: 'usage', input, output, model: `${model.provider}/${model.model}` };
  const p = priceOf(model);
  if (p) ev.cost_usd = (input * p.input + output * p.output) / 1_000_000;
  return ev;
}
