/**
 * runEstimate against the real reference engine on the stories260K fixture: prefix reuse in the
 * engine's counters, cancellation landing in each phase, and a resumed run equal to a full one.
 */
import { describe, expect, it } from 'vitest';
import { fixturePresent, loadFixture, noteIfFixtureMissing } from '../../../cli/fixture';
import { runEstimate, type EstimateRequest, type GeneratedCompression } from './run-estimate';

noteIfFixtureMissing('run-estimate (reference engine)');

const request: EstimateRequest = {
  contexts: [
    'Tom had a red kite. He ran up the hill to fly it.',
    'Mia found a small gray cat under the bench.',
    'The old bear lived in a cave by the river.',
  ],
  question: 'Who is in the story?',
  samplesPerContext: 2,
  settings: { temperature: 1, topP: 1, maxTokens: 12, seed: 4 },
};

describe.skipIf(!fixturePresent)('runEstimate with the reference engine', () => {
  it('scores with one prefill per context and matches the engine sampled log-probs', async () => {
    const engine = loadFixture();
    const out = await runEstimate(engine, request);
    if (out.status !== 'done') throw new Error('expected done');
    expect(out.modelId).toBe('reference:stories260K');
    const sumPrompts = out.contexts.reduce((a, c) => a + c.promptIds.length, 0);
    const sumZ = out.compressions.reduce((a, c) => a + c.ids.length, 0);
    const counted = out.counters.scoring.prefillTokens + out.counters.scoring.decodeSteps;
    // The engine forwards every id but the last of each compression after the reused prompt.
    expect(counted).toBe(sumPrompts + 3 * (sumZ - out.compressions.length));
    for (const c of out.compressions) {
      const sampled = c.logprobsNats.reduce((a, b) => a + b, 0);
      expect(Math.abs(sampled - c.scoresNats[c.context])).toBeLessThan(1e-9);
      expect(Math.abs(c.pmiNats.reduce((a, b) => a + b, 0) - c.termNats)).toBeLessThan(1e-9);
      expect(c.text).toBe(engine.tokenizer.decode(c.ids, out.contexts[c.context].promptIds.at(-1) ?? null));
    }
  });

  it('cancels mid-generation and mid-scoring; resuming reproduces the full run', async () => {
    const full = await runEstimate(loadFixture(), request);
    if (full.status !== 'done') throw new Error('expected done');

    const engine = loadFixture({ yieldIntervalMs: 0 });
    const signal = { aborted: false };
    const delivered: GeneratedCompression[] = [];
    const cut = await runEstimate(engine, request, {
      signal,
      onCompression: (c) => void delivered.push(c),
      onToken: (i, j, e) => {
        if (i === 1 && j === 0 && e.index === 3) {
          signal.aborted = true;
          engine.interrupt();
        }
      },
    });
    expect(cut).toMatchObject({ status: 'cancelled', phase: 'generating' });
    if (cut.status !== 'cancelled') return;
    expect(cut.compressions).toEqual(delivered);
    expect(cut.compressions.map((c) => [c.context, c.sample])).toEqual([
      [0, 0],
      [0, 1],
    ]);

    const scoringSignal = { aborted: false };
    const scoringEngine = loadFixture({ yieldIntervalMs: 0 });
    const cutScoring = await runEstimate(scoringEngine, { ...request, resume: cut.compressions }, {
      signal: scoringSignal,
      onProgress: (p) => {
        if (p.phase === 'scoring' && p.done === 0) {
          // Interrupt once the first score call is running (it yields to the event loop).
          setTimeout(() => {
            scoringSignal.aborted = true;
            scoringEngine.interrupt();
          }, 0);
        }
      },
    });
    expect(cutScoring).toMatchObject({ status: 'cancelled', phase: 'scoring' });
    if (cutScoring.status !== 'cancelled') return;
    expect(cutScoring.compressions).toHaveLength(6);

    const resumed = await runEstimate(loadFixture(), { ...request, resume: cutScoring.compressions });
    if (resumed.status !== 'done') throw new Error('expected done');
    expect(resumed.compressions.map((c) => c.ids)).toEqual(full.compressions.map((c) => c.ids));
    expect(resumed.summary.miNats).toBe(full.summary.miNats);
    expect(resumed.counters.generation.forwardCalls).toBe(0);
  });
});
