/**
 * The wire parsers on answers shaped as other servers (or other versions) may send them: what is
 * read, and what is refused by name. The fixture servers cover the common shapes end to end
 * (server-engine.test.ts); these are the variants around them.
 */
import { describe, expect, it } from 'vitest';
import { EntryCountError, parseSglangScores, parseVllmGeneration, parseVllmScores, type SglangScoreStats } from './wire';

const HOST = '127.0.0.1:8000';
const stats = (): SglangScoreStats => ({ cachedTokens: 0, convention: null });

describe('SGLang input_token_logprobs', () => {
  // prompt [1, 5, 6], continuation [7, 8]; logprob_start_len = 2 (prompt length − 1).
  const seq = [1, 5, 6, 7, 8];
  const answer = (entries: unknown[]) => ({ meta_info: { input_token_logprobs: entries, cached_tokens: 2 } });

  it('reads the current convention (null first) and the older one (first dropped)', () => {
    const s1 = stats();
    expect(parseSglangScores(HOST, answer([null, [-0.5, 7, null], [-0.25, 8, null]]), [seq], 3, s1)).toEqual([[-0.5, -0.25]]);
    expect(s1.convention).toBe('null-first');
    expect(s1.cachedTokens).toBe(2);
    const s2 = stats();
    expect(parseSglangScores(HOST, answer([[-0.5, 7, null], [-0.25, 8, null]]), [seq], 3, s2)).toEqual([[-0.5, -0.25]]);
    expect(s2.convention).toBe('dropped-first');
  });

  it('reads a server that starts before logprob_start_len from the aligned tail, ids checked', () => {
    const s = stats();
    const all = [null, [-3, 5, null], [-2, 6, null], [-0.5, 7, null], [-0.25, 8, null]];
    expect(parseSglangScores(HOST, answer(all), [seq], 3, s)).toEqual([[-0.5, -0.25]]);
    expect(s.convention).toBe('start-ignored');
    // A tail whose ids are not the ones sent is refused, never read out of place.
    const shifted = [[-3, 5, null], [-2, 6, null], [-0.5, 7, null], [-0.25, 9, null], [-1, 8, null]];
    expect(() => parseSglangScores(HOST, answer(shifted), [seq], 3, stats())).toThrow(/for token 9, but token 7 was sent/);
  });

  it('refuses fewer entries than the continuation needs (a server that cannot score)', () => {
    expect(() => parseSglangScores(HOST, answer([[-0.25, 8, null]]), [seq], 3, stats())).toThrow(EntryCountError);
    expect(() => parseSglangScores(HOST, answer([...Array(7)].map(() => [-1, 7, null])), [seq], 3, stats())).toThrow(EntryCountError);
  });
});

describe('vLLM completions', () => {
  it('reads echo log-probs with or without "token_id:N" tokens, and checks the ids it is given', () => {
    const seq = [1, 5, 6, 7];
    const echo = (tokens: unknown[]) => ({ choices: [{ index: 0, logprobs: { token_logprobs: [null, -1, -2, -0.5], tokens } }] });
    expect(parseVllmScores(HOST, echo(['token_id:1', 'token_id:5', 'token_id:6', 'token_id:7']), [seq], 3, 'echo')).toEqual([[-0.5]]);
    expect(parseVllmScores(HOST, echo(['<s>', 'a', 'b', 'c']), [seq], 3, 'echo')).toEqual([[-0.5]]);
    expect(() => parseVllmScores(HOST, echo(['token_id:1', 'token_id:5', 'token_id:6', 'token_id:9']), [seq], 3, 'echo')).toThrow(/token 9, but token 7/);
  });

  it('refuses a -9999 clamped value by name', () => {
    const answer = { choices: [{ index: 0, logprobs: { token_logprobs: [null, -1, -9999], tokens: [] } }] };
    expect(() => parseVllmScores(HOST, answer, [[1, 5, 6]], 2, 'echo')).toThrow(expect.objectContaining({ name: 'ServerClampedLogprobError' }));
  });

  const generation = (choice: Record<string, unknown>) => ({
    choices: [{ index: 0, text: ' a b', finish_reason: 'stop', logprobs: { token_logprobs: [-0.1, -0.2, -0.3], tokens: ['token_id:4', 'token_id:9', 'token_id:2'] }, ...choice }],
  });

  it('takes generated ids from token_ids, else from "token_id:N", else says it cannot know them', () => {
    const withIds = parseVllmGeneration(HOST, generation({ token_ids: [4, 9, 2], logprobs: { token_logprobs: [-0.1, -0.2, -0.3], tokens: [' a', ' b', ''] } }), false);
    expect(withIds?.ids).toEqual([4, 9, 2]);
    expect(withIds?.tokenTexts).toEqual([' a', ' b', '']);
    expect(withIds?.stopReason).toBe('stop');
    expect(parseVllmGeneration(HOST, generation({}), false)).toBeNull();
    expect(parseVllmGeneration(HOST, generation({}), true)?.ids).toEqual([4, 9, 2]);
    // A server that ignores return_tokens_as_token_ids: no ids either way.
    expect(parseVllmGeneration(HOST, generation({ logprobs: { token_logprobs: [-0.1, -0.2], tokens: [' a', ' b'] } }), true)).toBeNull();
  });

  it('refuses log-probs that do not match the ids one for one', () => {
    expect(() => parseVllmGeneration(HOST, generation({ token_ids: [4, 9] }), false)).toThrow(/2 generated ids but 3 log-probabilities/);
  });
});
