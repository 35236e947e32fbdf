import { beforeAll, describe, expect, it } from 'vitest';
import {
  CONTINUATION_IDS,
  PROMPT_IDS,
  README_TEXT,
  fixturePresent,
  loadFixture,
  noteIfFixtureMissing,
} from '../../../cli/fixture';
import { errorName } from '../../../src/lib/core/errors';
import type { ReferenceEngine } from './engine';

noteIfFixtureMissing('reference engine');

const greedy = { temperature: 0, topP: 1, seed: 0 };

describe.skipIf(!fixturePresent)('ReferenceEngine on stories260K (known answers)', () => {
  let engine: ReferenceEngine;
  beforeAll(() => {
    engine = loadFixture();
  });

  it('describes itself', () => {
    expect(engine.info).toEqual({
      id: 'reference:stories260K',
      engine: 'reference',
      promptStyle: 'plain',
      contextWindowTokens: 512,
      vocabSize: 512,
      bosId: 1,
      stopIds: [2],
      // 512·64 embedding + 5 layers · (2·64 + 2·64² + 2·64·32 + 3·64·172) + 64 final norm; shared classifier.
      architecture: { parameterCount: 260032, layers: 5, attentionDim: 64 },
    });
  });

  it('greedy decoding from BOS for 200 steps prints the README text', async () => {
    let streamed = '';
    const r = await engine.generate([1], { ...greedy, maxTokens: 200 }, (e) => {
      streamed += e.text;
    });
    expect(r.stopReason).toBe('length');
    expect(r.ids).toHaveLength(200);
    expect(r.logprobsNats).toHaveLength(200);
    expect(streamed).toBe(README_TEXT);
    expect([1, ...r.ids.slice(0, 15)]).toEqual(PROMPT_IDS);
    for (const lp of r.logprobsNats) expect(lp).toBeLessThanOrEqual(0);
  });

  it('encodes the README sentence to the known ids', () => {
    expect(engine.promptIds({ kind: 'plain', text: 'Once upon a time, there was a little girl named Lily.' })).toEqual(
      PROMPT_IDS,
    );
    expect(engine.detokenize(PROMPT_IDS)).toBe('Once upon a time, there was a little girl named Lily.');
  });

  it('teacher-forced example matches the README log-probs', async () => {
    const [lps] = await engine.score(PROMPT_IDS, [CONTINUATION_IDS]);
    expect(lps).toHaveLength(16);
    expect(lps[0]).toBeCloseTo(-0.103418, 4);
    expect(lps[1]).toBeCloseTo(-0.232762, 4);
    expect(lps[2]).toBeCloseTo(-0.000419, 4);
    expect(lps[15]).toBeCloseTo(-0.635943, 4);
    const sum = lps.reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - -4.08896)).toBeLessThan(1e-3);
  });

  it('score equals the generate log-probs of greedy ids and scales with temperature', async () => {
    const g = await engine.generate(PROMPT_IDS, { ...greedy, maxTokens: 12 });
    const [lps] = await engine.score(PROMPT_IDS, [g.ids]);
    lps.forEach((lp, i) => expect(Math.abs(lp - g.logprobsNats[i])).toBeLessThan(1e-12));
    const [t0] = await engine.score(PROMPT_IDS, [g.ids], 0);
    expect(t0).toEqual(lps);
    const [hot] = await engine.score(PROMPT_IDS, [g.ids], 2);
    expect(hot[0]).not.toBeCloseTo(lps[0], 6);
  });

  it('prefills the prompt once and scores each continuation on top of it', async () => {
    engine.resetCounters();
    const conts = [CONTINUATION_IDS, [338], [], CONTINUATION_IDS.slice(0, 5), [338, 401]];
    const res = await engine.score(PROMPT_IDS, conts);
    expect(res.map((r) => r.length)).toEqual([16, 1, 0, 5, 2]);
    expect(res[3]).toEqual(res[0].slice(0, 5));
    expect(res[1][0]).toBe(res[0][0]);
    // prompt 16 (one call) + 15 + 4 batched; the 2-token continuation forwards one token.
    expect(engine.counters()).toEqual({ prefillTokens: 16 + 15 + 4, decodeSteps: 1, forwardCalls: 4 });
  });

  it('counts prefill tokens, decode steps and forward calls in generate', async () => {
    engine.resetCounters();
    await engine.generate(PROMPT_IDS, { ...greedy, maxTokens: 5 });
    expect(engine.counters()).toEqual({ prefillTokens: 16, decodeSteps: 4, forwardCalls: 5 });
    await engine.generate([1], { ...greedy, maxTokens: 3 });
    expect(engine.counters()).toEqual({ prefillTokens: 16, decodeSteps: 7, forwardCalls: 8 });
    engine.resetCounters();
    expect(engine.counters()).toEqual({ prefillTokens: 0, decodeSteps: 0, forwardCalls: 0 });
  });

  it('seeded sampling is reproducible and differs across seeds', async () => {
    const s = { temperature: 1, topP: 0.9, maxTokens: 30 };
    const a = await engine.generate([1], { ...s, seed: 42 });
    const b = await engine.generate([1], { ...s, seed: 42 });
    const c = await engine.generate([1], { ...s, seed: 7 });
    expect(b).toEqual(a);
    expect(c.ids).not.toEqual(a.ids);
    // Reported log-probs are before top-p truncation: score() at T=1 gives the same numbers.
    const [lps] = await engine.score([1], [a.ids]);
    lps.forEach((lp, i) => expect(Math.abs(lp - a.logprobsNats[i])).toBeLessThan(1e-12));
  });

  it('rejects a prompt longer than the window with ContextTooLongError', async () => {
    const long = new Array(513).fill(300);
    long[0] = 1;
    await expect(engine.generate(long, { ...greedy, maxTokens: 1 })).rejects.toMatchObject({
      name: 'ContextTooLongError',
    });
    await expect(engine.score(long, [[5]])).rejects.toMatchObject({ name: 'ContextTooLongError' });
    // 500 + 14 - 1 forwarded positions > 512.
    await expect(engine.score(long.slice(0, 500), [new Array(14).fill(300)])).rejects.toMatchObject({
      name: 'ContextTooLongError',
    });
    // Exactly at the window: fine, and generation stops with 'length' when the window is full.
    const atEdge = await engine.score(long.slice(0, 500), [new Array(13).fill(300)]);
    expect(atEdge[0]).toHaveLength(13);
    const g = await engine.generate(long.slice(0, 510), { ...greedy, maxTokens: 50 });
    expect(g.stopReason).toBe('length');
    expect(g.ids).toHaveLength(3);
  });

  it('rejects bad ids and settings with InvalidArgumentError', async () => {
    await expect(engine.score([], [[1]])).rejects.toMatchObject({ name: 'InvalidArgumentError' });
    await expect(engine.score([1], [[512]])).rejects.toMatchObject({ name: 'InvalidArgumentError' });
    await expect(engine.generate([1, -1], { ...greedy, maxTokens: 1 })).rejects.toMatchObject({
      name: 'InvalidArgumentError',
    });
    await expect(engine.generate([1], { ...greedy, topP: 0, maxTokens: 1 })).rejects.toMatchObject({
      name: 'InvalidArgumentError',
    });
  });

  it('stops at a stop id and includes it', async () => {
    // Make EOS the argmax by scoring under a patched stop list: sample greedily with stopIds
    // set to the first greedy id, which must then end the generation at once.
    const first = (await engine.generate([1], { ...greedy, maxTokens: 1 })).ids[0];
    const original = engine.info.stopIds;
    (engine.info as { stopIds: number[] }).stopIds = [first];
    try {
      const r = await engine.generate([1], { ...greedy, maxTokens: 10 });
      expect(r).toMatchObject({ ids: [first], stopReason: 'stop' });
      expect(r.logprobsNats).toHaveLength(1);
    } finally {
      (engine.info as { stopIds: number[] }).stopIds = original;
    }
  });
});

describe.skipIf(!fixturePresent)('ReferenceEngine interrupts', () => {
  it('an interrupt during prefill throws InterruptedError from score and leaves the engine usable', async () => {
    const engine = loadFixture({ yieldIntervalMs: 0, prefillChunkTokens: 16 });
    const fresh = loadFixture();
    const long = [1];
    for (let i = 1; i < 400; i++) long.push(3 + ((i * 37) % 500));
    const pending = engine.score(long, [CONTINUATION_IDS]);
    engine.interrupt(); // lands at the first pause, after the first prefill chunk
    const err = await pending.then(
      () => null,
      (e: unknown) => e,
    );
    expect(errorName(err)).toBe('InterruptedError');
    expect(engine.counters().prefillTokens).toBeLessThan(long.length);
    const after = await engine.score(PROMPT_IDS, [CONTINUATION_IDS]);
    expect(after).toEqual(await fresh.score(PROMPT_IDS, [CONTINUATION_IDS]));
  });

  it('an interrupt during generate returns the partial result, then the engine works normally', async () => {
    const engine = loadFixture({ yieldIntervalMs: 0 });
    const r = await engine.generate([1], { ...greedy, maxTokens: 100 }, (e) => {
      if (e.index === 4) engine.interrupt();
    });
    expect(r.stopReason).toBe('interrupted');
    expect(r.ids).toEqual(PROMPT_IDS.slice(1, 6));
    const again = await engine.generate([1], { ...greedy, maxTokens: 15 });
    expect(again).toMatchObject({ ids: PROMPT_IDS.slice(1), stopReason: 'length' });
  });

  it('an interrupt from a timer lands while generate is running', async () => {
    const engine = loadFixture({ yieldIntervalMs: 0 });
    const timer = setTimeout(() => engine.interrupt(), 5);
    const r = await engine.generate([1], { ...greedy, maxTokens: 100000 });
    clearTimeout(timer);
    expect(r.stopReason).toBe('interrupted');
    expect(r.ids.length).toBeLessThan(512);
    expect(r.ids.slice(0, 15)).toEqual(PROMPT_IDS.slice(1, 1 + Math.min(15, r.ids.length)));
  });

  it('an interrupt while idle does not cancel the next call', async () => {
    const engine = loadFixture();
    engine.interrupt();
    const r = await engine.generate([1], { ...greedy, maxTokens: 15 });
    expect(r).toMatchObject({ ids: PROMPT_IDS.slice(1), stopReason: 'length' });
    engine.interrupt();
    const [lps] = await engine.score(PROMPT_IDS, [CONTINUATION_IDS]);
    expect(lps).toHaveLength(16);
  });

  it('refuses a second concurrent call with EngineBusyError', async () => {
    const engine = loadFixture({ yieldIntervalMs: 0 });
    const first = engine.generate([1], { ...greedy, maxTokens: 50 });
    await expect(engine.score([1], [[5]])).rejects.toMatchObject({ name: 'EngineBusyError' });
    expect((await first).ids).toHaveLength(50);
  });
});
