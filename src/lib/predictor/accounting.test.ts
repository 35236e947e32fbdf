import { describe, expect, it } from 'vitest';
import { buildPayload, payloadText, rawPayload } from './payload';
import { DEFAULT_PRICES, costUsd, formatUsd, mergePrices, priceFor } from './pricing';
import { backoffMs, retryAfterMs, DEFAULT_RETRY_POLICY } from './retry';
import { savings } from './savings';
import { countChatTokens, countTextTokens, tokenizerFor } from './tokens';
import { hostOf, isLocalHost, presetForBaseUrl } from './presets';
import { redactSecrets } from './errors';

describe('payload', () => {
  it('holds the question and numbered compressions only', () => {
    const m = buildPayload(' Why? ', ['first', 'second']);
    expect(m.map((x) => x.role)).toEqual(['system', 'user']);
    expect(m[1].content).toBe('Question: Why?\n\nNotes (2):\n[1] first\n\n[2] second');
    expect(payloadText(m)).toContain('[system]\n');
  });
  it('raw payload carries the documents', () => {
    expect(rawPayload('Q', ['doc text'])[1].content).toContain('[1] doc text');
  });
});

describe('pricing', () => {
  it('matches dated snapshots to the longest key', () => {
    expect(priceFor('gpt-4o-mini-2024-07-18', DEFAULT_PRICES)).toEqual(DEFAULT_PRICES['gpt-4o-mini']);
    expect(priceFor('gpt-4o-2024-08-06', DEFAULT_PRICES)).toEqual(DEFAULT_PRICES['gpt-4o']);
    expect(priceFor('llama3.2', DEFAULT_PRICES)).toBeUndefined();
  });
  it('costs tokens per million', () => {
    expect(costUsd({ inputUsdPerMTok: 2.5, outputUsdPerMTok: 10 }, 1_000_000, 100_000)).toBeCloseTo(3.5);
  });
  it('merges user edits and drops invalid ones', () => {
    const p = mergePrices({ mine: { inputUsdPerMTok: 0, outputUsdPerMTok: 0 }, bad: { inputUsdPerMTok: -1, outputUsdPerMTok: 1 } });
    expect(p.mine).toEqual({ inputUsdPerMTok: 0, outputUsdPerMTok: 0 });
    expect(p.bad).toBeUndefined();
    expect(p['gpt-4o']).toBeDefined();
  });
  it('formats small amounts', () => {
    expect(formatUsd(undefined)).toBe('unknown');
    expect(formatUsd(0.000123)).toBe('$0.000123');
    expect(formatUsd(1.5)).toBe('$1.5000');
  });
});

describe('tokens', () => {
  it('picks the tokenizer by model family', () => {
    expect(tokenizerFor('gpt-4o-mini')).toBe('o200k_base');
    expect(tokenizerFor('openai/gpt-4.1-nano')).toBe('o200k_base');
    expect(tokenizerFor('o4-mini')).toBe('o200k_base');
    expect(tokenizerFor('gpt-4-turbo')).toBe('cl100k_base');
    expect(tokenizerFor('gpt-3.5-turbo')).toBe('cl100k_base');
    expect(tokenizerFor('llama-3.1-8b-instant')).toBe('estimate');
  });
  it('counts with the real BPE for OpenAI models', async () => {
    // "hello world" is 2 tokens in both o200k_base and cl100k_base.
    expect(await countTextTokens('hello world', 'gpt-4o')).toEqual({ tokens: 2, kind: 'o200k_base', isEstimate: false });
    expect((await countTextTokens('hello world', 'gpt-4')).tokens).toBe(2);
    // Special-token text is counted as text, not rejected.
    expect((await countTextTokens('<|endoftext|>', 'gpt-4o')).tokens).toBeGreaterThan(1);
  });
  it('frames chat messages: content + role + 3 each, + 3', async () => {
    const c = await countChatTokens([{ role: 'user', content: 'hello world' }], 'gpt-4o');
    expect(c.tokens).toBe(2 + 1 + 3 + 3);
  });
  it('estimates chars/4 for other models and says so', async () => {
    const c = await countChatTokens([{ role: 'user', content: 'abcdefgh' }], 'llama3.2');
    expect(c).toEqual({ tokens: 2 + 1 + 3 + 3, kind: 'estimate', isEstimate: true });
  });
});

describe('savings', () => {
  it('compares compressed and raw requests for one model', async () => {
    const doc = 'The patient received 40 mg of drug X daily for six weeks. '.repeat(40);
    const s = await savings({
      compressedMessages: buildPayload('Dose?', ['40 mg daily of X']),
      rawMessages: rawPayload('Dose?', [doc]),
      model: 'gpt-4o',
      prices: DEFAULT_PRICES,
    });
    expect(s.tokensAreEstimate).toBe(false);
    expect(s.rawTokens).toBeGreaterThan(s.compressedTokens * 5);
    expect(s.savedTokens).toBe(s.rawTokens - s.compressedTokens);
    expect(s.savedUsd).toBeCloseTo((s.savedTokens * 2.5) / 1e6, 12);
  });
  it('leaves money unknown for unpriced models', async () => {
    const s = await savings({ compressedMessages: buildPayload('Q', ['a']), rawMessages: rawPayload('Q', ['bbbb']), model: 'llama3.2', prices: DEFAULT_PRICES });
    expect(s.priceKnown).toBe(false);
    expect(s.savedUsd).toBeUndefined();
    expect(s.tokensAreEstimate).toBe(true);
  });
});

describe('retry', () => {
  it('reads retry-after-ms, retry-after seconds and dates', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }))).toBe(2000);
    expect(retryAfterMs(new Headers({ 'retry-after': new Date(10_000).toUTCString() }), 4_000)).toBe(6000);
    expect(retryAfterMs(new Headers({}))).toBeUndefined();
  });
  it('backs off exponentially with bounded jitter', () => {
    expect(backoffMs(1, DEFAULT_RETRY_POLICY, () => 0.5)).toBe(1000);
    expect(backoffMs(3, DEFAULT_RETRY_POLICY, () => 0.5)).toBe(4000);
    expect(backoffMs(20, DEFAULT_RETRY_POLICY, () => 1)).toBe(DEFAULT_RETRY_POLICY.maxDelayMs);
  });
});

describe('presets and redaction', () => {
  it('knows hosts and local endpoints', () => {
    expect(hostOf('https://api.openai.com/v1/')).toBe('api.openai.com');
    expect(isLocalHost('http://localhost:11434/v1')).toBe(true);
    expect(isLocalHost('https://api.groq.com/openai/v1')).toBe(false);
    expect(presetForBaseUrl('http://localhost:1234/v1/')?.id).toBe('lmstudio');
  });
  it('hides keys in text', () => {
    expect(redactSecrets('Incorrect API key provided: sk-abc123456789', undefined)).not.toContain('sk-abc');
    expect(redactSecrets('auth Bearer xyz.123', undefined)).toBe('auth Bearer [key hidden]');
    expect(redactSecrets('key is mysecretvalue!', 'mysecretvalue')).toBe('key is [key hidden]!');
  });
});
