/**
 * What sending the compressions instead of the raw documents saves, for one predictor model.
 * Input side only: the answer's length does not depend on which of the two was sent, so output
 * tokens cancel out of the difference.
 */
import type { ChatMessage } from './payload';
import { costUsd, priceFor, type PriceTable } from './pricing';
import { countChatTokens, type TokenizerKind } from './tokens';

export interface SavingsInput {
  compressedMessages: readonly ChatMessage[];
  rawMessages: readonly ChatMessage[];
  model: string;
  prices: PriceTable;
}

export interface Savings {
  compressedTokens: number;
  rawTokens: number;
  savedTokens: number;
  /** undefined when the model has no price in the table. */
  compressedCostUsd?: number;
  rawCostUsd?: number;
  savedUsd?: number;
  /** rawTokens / compressedTokens. */
  ratio: number;
  tokensAreEstimate: boolean;
  tokenizer: TokenizerKind;
  priceKnown: boolean;
}

export async function savings(input: SavingsInput): Promise<Savings> {
  const [c, r] = await Promise.all([
    countChatTokens(input.compressedMessages, input.model),
    countChatTokens(input.rawMessages, input.model),
  ]);
  const price = priceFor(input.model, input.prices);
  const compressedCostUsd = price ? costUsd(price, c.tokens) : undefined;
  const rawCostUsd = price ? costUsd(price, r.tokens) : undefined;
  return {
    compressedTokens: c.tokens,
    rawTokens: r.tokens,
    savedTokens: r.tokens - c.tokens,
    compressedCostUsd,
    rawCostUsd,
    savedUsd: price ? rawCostUsd! - compressedCostUsd! : undefined,
    ratio: c.tokens > 0 ? r.tokens / c.tokens : 0,
    tokensAreEstimate: c.isEstimate || r.isEstimate,
    tokenizer: c.kind,
    priceKnown: price !== undefined,
  };
}
