/**
 * Prices of predictor models in USD per million tokens, input and output.
 *
 * The defaults are list prices as of PRICES_AS_OF, only for models whose price we are sure of;
 * prices change, so the table is editable in the page and the user's edits are persisted by the
 * caller (see PredictorState). A model missing from the table has an unknown cost, shown as such,
 * never as zero, unless the user enters zero (e.g. for a local server).
 */

export interface ModelPrice {
  /** USD per 1,000,000 prompt tokens. */
  inputUsdPerMTok: number;
  /** USD per 1,000,000 completion tokens. */
  outputUsdPerMTok: number;
}

export type PriceTable = Record<string, ModelPrice>;

export const PRICES_AS_OF = '2025-06';

export const DEFAULT_PRICES: Readonly<PriceTable> = Object.freeze({
  'gpt-4o': { inputUsdPerMTok: 2.5, outputUsdPerMTok: 10 },
  'gpt-4o-mini': { inputUsdPerMTok: 0.15, outputUsdPerMTok: 0.6 },
  'gpt-4.1': { inputUsdPerMTok: 2, outputUsdPerMTok: 8 },
  'gpt-4.1-mini': { inputUsdPerMTok: 0.4, outputUsdPerMTok: 1.6 },
  'gpt-4.1-nano': { inputUsdPerMTok: 0.1, outputUsdPerMTok: 0.4 },
  'o4-mini': { inputUsdPerMTok: 1.1, outputUsdPerMTok: 4.4 },
  'o3-mini': { inputUsdPerMTok: 1.1, outputUsdPerMTok: 4.4 },
  'gpt-3.5-turbo': { inputUsdPerMTok: 0.5, outputUsdPerMTok: 1.5 },
  // OpenRouter passes vendor list prices through.
  'openai/gpt-4o': { inputUsdPerMTok: 2.5, outputUsdPerMTok: 10 },
  'openai/gpt-4o-mini': { inputUsdPerMTok: 0.15, outputUsdPerMTok: 0.6 },
  'anthropic/claude-3.5-sonnet': { inputUsdPerMTok: 3, outputUsdPerMTok: 15 },
  'anthropic/claude-3.5-haiku': { inputUsdPerMTok: 0.8, outputUsdPerMTok: 4 },
  // Groq.
  'llama-3.1-8b-instant': { inputUsdPerMTok: 0.05, outputUsdPerMTok: 0.08 },
  'llama-3.3-70b-versatile': { inputUsdPerMTok: 0.59, outputUsdPerMTok: 0.79 },
});

/**
 * Price for a model id: exact match first, then the longest table key that the id starts with
 * followed by '-' (dated snapshots such as gpt-4o-2024-08-06 price like gpt-4o; gpt-4o-mini is
 * matched before gpt-4o because the longer key wins).
 */
export function priceFor(model: string, prices: PriceTable): ModelPrice | undefined {
  const id = model.trim();
  if (prices[id]) return prices[id];
  let best: string | undefined;
  for (const key of Object.keys(prices)) {
    if (id.startsWith(key + '-') && (!best || key.length > best.length)) best = key;
  }
  return best ? prices[best] : undefined;
}

/** Cost in USD of a request: tokens × price / 1e6, for each direction. */
export function costUsd(price: ModelPrice, inputTokens: number, outputTokens = 0): number {
  return (inputTokens * price.inputUsdPerMTok + outputTokens * price.outputUsdPerMTok) / 1e6;
}

/** Defaults overlaid with the user's edits; an edit with a negative or non-finite price is dropped. */
export function mergePrices(user: PriceTable | null | undefined): PriceTable {
  const out: PriceTable = { ...DEFAULT_PRICES };
  for (const [k, v] of Object.entries(user ?? {})) {
    if (isValidPrice(v)) out[k] = { inputUsdPerMTok: v.inputUsdPerMTok, outputUsdPerMTok: v.outputUsdPerMTok };
  }
  return out;
}

export function isValidPrice(v: unknown): v is ModelPrice {
  if (!v || typeof v !== 'object') return false;
  const p = v as Partial<ModelPrice>;
  return (
    typeof p.inputUsdPerMTok === 'number' &&
    typeof p.outputUsdPerMTok === 'number' &&
    Number.isFinite(p.inputUsdPerMTok) &&
    Number.isFinite(p.outputUsdPerMTok) &&
    p.inputUsdPerMTok >= 0 &&
    p.outputUsdPerMTok >= 0
  );
}

/** Format a dollar amount small enough to matter: $0.000123 rather than $0.00. */
export function formatUsd(usd: number | undefined): string {
  if (usd === undefined || !Number.isFinite(usd)) return 'unknown';
  if (usd === 0) return '$0';
  if (Math.abs(usd) >= 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toPrecision(3)}`;
}
