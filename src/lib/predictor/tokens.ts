/**
 * Token counts of chat requests for the cost estimate.
 *
 * OpenAI models are counted with gpt-tokenizer's real BPE (o200k_base for the gpt-4o / 4.1 / 4.5 /
 * 5 and o-series families, cl100k_base for gpt-4 and gpt-3.5). The rank tables are 1.2 MB and
 * 2.4 MB of JavaScript, so they are imported lazily: they land in their own chunks and load only
 * when an OpenAI model is chosen. Every other model is estimated as ceil(chars / 4) per message
 * and labelled as an estimate, because its tokenizer is not available in the page.
 *
 * The chat framing follows OpenAI's published counting recipe: each message costs its content and
 * role tokens plus 3, and the reply is primed with 3 more.
 */
import type { ChatMessage } from './payload';

export type TokenizerKind = 'o200k_base' | 'cl100k_base' | 'estimate';

export interface TokenCount {
  tokens: number;
  kind: TokenizerKind;
  /** True when no real tokenizer for this model was available (chars / 4). */
  isEstimate: boolean;
}

const PER_MESSAGE_TOKENS = 3;
const REPLY_PRIMING_TOKENS = 3;

/** Which tokenizer a model id uses; vendor prefixes such as "openai/" are ignored. */
export function tokenizerFor(model: string): TokenizerKind {
  const id = model.trim().toLowerCase().replace(/^openai\//, '');
  if (/^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o1|o3|o4)(\b|-|$)/.test(id)) return 'o200k_base';
  if (/^(gpt-4|gpt-3\.5|text-embedding-3|text-embedding-ada)(\b|-|$)/.test(id)) return 'cl100k_base';
  return 'estimate';
}

type Encode = (text: string) => number;
const encoders = new Map<TokenizerKind, Promise<Encode>>();

function loadEncoder(kind: Exclude<TokenizerKind, 'estimate'>): Promise<Encode> {
  let p = encoders.get(kind);
  if (!p) {
    // Special-token strings inside user text are counted as plain text, as the API does.
    const opts = { disallowedSpecial: new Set<string>() };
    p =
      kind === 'o200k_base'
        ? import('gpt-tokenizer/encoding/o200k_base').then((m) => (t: string) => m.encode(t, opts).length)
        : import('gpt-tokenizer/encoding/cl100k_base').then((m) => (t: string) => m.encode(t, opts).length);
    p.catch(() => encoders.delete(kind));
    encoders.set(kind, p);
  }
  return p;
}

/** ceil(chars / 4): the usual rule of thumb for English text under BPE tokenizers. */
export function estimateTextTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function frame(messages: readonly ChatMessage[], count: Encode): number {
  let total = REPLY_PRIMING_TOKENS;
  for (const m of messages) total += PER_MESSAGE_TOKENS + count(m.role) + count(m.content);
  return total;
}

export async function countChatTokens(messages: readonly ChatMessage[], model: string): Promise<TokenCount> {
  const kind = tokenizerFor(model);
  if (kind !== 'estimate') {
    try {
      const enc = await loadEncoder(kind);
      return { tokens: frame(messages, enc), kind, isEstimate: false };
    } catch {
      // A failed chunk load (offline after an update) falls back to the estimate, labelled.
    }
  }
  return { tokens: frame(messages, estimateTextTokens), kind: 'estimate', isEstimate: true };
}

export async function countTextTokens(text: string, model: string): Promise<TokenCount> {
  const kind = tokenizerFor(model);
  if (kind !== 'estimate') {
    try {
      const enc = await loadEncoder(kind);
      return { tokens: enc(text), kind, isEstimate: false };
    } catch {
      /* fall through to the estimate */
    }
  }
  return { tokens: estimateTextTokens(text), kind: 'estimate', isEstimate: true };
}
