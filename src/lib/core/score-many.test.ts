/**
 * scoreUnderContexts with an engine that scores several prompts per call (scoreMany, as the
 * server engine does): the same numbers as one context per call, contexts grouped in waves of
 * about twice what the engine keeps in flight, progress per context, and cancel between waves.
 */
import { describe, expect, it } from 'vitest';
import { fixturePresent, loadFixture, noteIfFixtureMissing } from '../../../cli/fixture';
import type { Engine } from './engine';
import { promptIdsFor, scoreUnderContexts, type EstimateProgress } from './run-estimate';

noteIfFixtureMissing('scoreMany waves');

const CONTEXTS = ['Tom had a red kite.', 'Lily saw a big dog.', 'Ben made a boat.', 'Sue ate a cake.', 'The cat sat on a mat.', 'A bird sang.'];

/** The reference engine, plus scoreMany built on its own score (and a record of each call). */
function manyEngine(inFlight: number): { engine: Engine; calls: number[] } {
  const base = loadFixture();
  const calls: number[] = [];
  const engine = Object.assign(Object.create(Object.getPrototypeOf(base)), base) as Engine;
  engine.scoreMany = async (jobs, temperature, onJob) => {
    calls.push(jobs.length);
    const out: number[][][] = [];
    for (let i = 0; i < jobs.length; i++) {
      out.push(await base.score(jobs[i].promptIds, jobs[i].continuations, temperature));
      onJob?.(i);
    }
    return out;
  };
  engine.scoringSequencesInFlight = () => inFlight;
  return { engine, calls };
}

describe.skipIf(!fixturePresent)('scoreUnderContexts with scoreMany', () => {
  it('gives the same rows as one context per call, in waves, with progress per context', async () => {
    const plain = loadFixture();
    const prompts = await promptIdsFor(plain, CONTEXTS, 'Who is it about?', 8);
    const ids = [plain.tokenize(' Tom ran.'), plain.tokenize(' A dog.'), [], plain.tokenize(' The end.')];
    const groups = [{ promptIds: prompts, members: [0, 1, 2, 3] }];
    const want = await scoreUnderContexts(plain, ids, groups, 1);

    // 4 compressions per context, 4 sequences in flight: waves of 2 contexts (2 × 4 / 4).
    const { engine, calls } = manyEngine(4);
    const seen: EstimateProgress[] = [];
    const got = await scoreUnderContexts(engine, ids, groups, 1, { onProgress: (p) => seen.push(p) });
    expect(got.status).toBe('done');
    expect(calls).toEqual([2, 2, 2]);
    got.perToken.forEach((rows, k) => rows.forEach((row, l) => row.forEach((v, t) => expect(v).toBe(want.perToken[k][l][t]))));
    expect(got.perToken[2].every((row) => row.length === 0)).toBe(true);
    expect(seen.map((p) => p.done)).toEqual([0, 1, 2, 2, 3, 4, 4, 5, 6, 6]);
  });

  it('stops between waves once cancelled', async () => {
    const plain = loadFixture();
    const prompts = await promptIdsFor(plain, CONTEXTS, '', 8);
    const { engine, calls } = manyEngine(2);
    const signal = { aborted: false };
    const out = await scoreUnderContexts(engine, [plain.tokenize(' Tom ran.')], [{ promptIds: prompts, members: [0] }], 1, {
      signal,
      onProgress: (p) => {
        if (p.done >= 4) signal.aborted = true;
      },
    });
    expect(out.status).toBe('cancelled');
    expect(calls).toEqual([4]);
  });
});
