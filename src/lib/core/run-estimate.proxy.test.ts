/**
 * runEstimate with a generate-only compressor (the proxy-scorer path): a deterministic text
 * writer stands in for the server, the reference engine (stories260K) scores. Every number is
 * recomputed here from the scorer alone: ids = scorer.tokenize(text) + the stop id when the text
 * stopped, s_l = the sum of the scorer's teacher-forced log-probs under its own plain prompt of
 * context l, term = s_own - logsumexp_l s_l + ln N.
 */
import { describe, expect, it } from 'vitest';
import { fixturePresent, loadFixture, noteIfFixtureMissing } from '../../../cli/fixture';
import type { Prompt, SamplingSettings } from './engine';
import { compressionPrompt } from './prompts';
import { runEstimate, type EstimateRequest, type GeneratedCompression } from './run-estimate';
import type { TextCompressor, TextGeneration, TextGenerationJob } from './text-compressor';

noteIfFixtureMissing('run-estimate proxy scorer');

const request: EstimateRequest = {
  contexts: [
    'Ben lost his blue ball in the tall grass near the pond.',
    'Sara baked a cake with her grandma on a rainy day.',
    'A little dog barked at the moon every night.',
  ],
  question: 'What happened?',
  samplesPerContext: 2,
  settings: { temperature: 1, topP: 1, maxTokens: 10, seed: 9 },
};

/** Writes a few words of the document named in the prompt, chosen by the seed; odd seeds stop. */
class FakeWriter implements TextCompressor {
  readonly id = 'ollama:fake-writer';
  readonly host = '127.0.0.1:11434';
  prompts: Prompt[] = [];
  interrupted = false;
  /** Called before each answer is returned; may interrupt. */
  beforeAnswer: (count: number) => void = () => {};
  private answered = 0;

  constructor(readonly concurrency: number, private readonly parallel: boolean) {
    if (!parallel) this.generateMany = undefined;
  }

  private answer(prompt: Prompt, settings: SamplingSettings): TextGeneration {
    if (prompt.kind !== 'chat') throw new Error('a chat prompt was expected');
    const doc = /Document:\n([^\n]*)/.exec(prompt.messages[1].content)![1];
    const words = doc.split(' ');
    const from = settings.seed % 3;
    const text = ' ' + words.slice(from, from + 3 + (settings.seed % 2)).join(' ');
    return { text, stopReason: settings.seed % 2 ? 'stop' : 'length', generatedTokens: 5, logprobsNats: [-1, -2] };
  }

  async generate(prompt: Prompt, settings: SamplingSettings, onDelta?: (text: string) => void): Promise<TextGeneration> {
    this.prompts.push(prompt);
    this.beforeAnswer(this.answered++);
    if (this.interrupted) return { text: '', stopReason: 'interrupted', generatedTokens: null, logprobsNats: null };
    const g = this.answer(prompt, settings);
    onDelta?.(g.text);
    return g;
  }

  generateMany?: TextCompressor['generateMany'] = async (jobs: TextGenerationJob[], onResult) => {
    // Answer in reverse order, to check that completion order does not matter.
    for (let k = jobs.length - 1; k >= 0; k--) await onResult(k, await this.generate(jobs[k].prompt, jobs[k].settings));
  };

  interrupt(): void {
    this.interrupted = true;
  }

  async dispose(): Promise<void> {}
}

const lse = (xs: number[]) => {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
};

describe.skipIf(!fixturePresent)('runEstimate with a generate-only compressor and a proxy scorer', () => {
  for (const parallel of [true, false]) {
    it(`${parallel ? 'generateMany' : 'one at a time'}: ids, scores, terms and MI recomputed from the scorer alone`, async () => {
      const scorer = loadFixture();
      const writer = new FakeWriter(3, parallel);
      const saved: GeneratedCompression[] = [];
      const out = await runEstimate(scorer, request, { onCompression: (c) => void saved.push(c) }, { compressor: writer });
      if (out.status !== 'done') throw new Error('expected done');
      expect(out.modelId).toBe('ollama:fake-writer');
      expect(out.scorerModelId).toBe('reference:stories260K');
      expect(out.compressor).toEqual({ id: 'ollama:fake-writer', host: '127.0.0.1:11434' });
      expect(out.warnings.some((w) => w.includes('scored by reference:stories260K'))).toBe(true);
      // The writer got the chat template with each raw context.
      expect(writer.prompts).toHaveLength(6);
      for (const x of request.contexts) {
        expect(writer.prompts).toContainEqual(compressionPrompt('chat', x, request.question));
      }
      const reference = loadFixture();
      const prompts = request.contexts.map((x) => reference.promptIds(compressionPrompt('plain', x, request.question)));
      expect(out.contexts.map((c) => c.promptIds)).toEqual(prompts);
      const n = request.contexts.length;
      const terms: number[] = [];
      for (const c of out.compressions) {
        const want = reference.tokenize(c.text);
        if (c.stopReason === 'stop') want.push(reference.info.stopIds[0]);
        expect(c.ids).toEqual(want);
        expect(c.truncated).toBe(c.stopReason === 'length');
        expect(c.generator).toEqual({ generatedTokens: 5, logprobsNats: [-1, -2] });
        const rows: number[][] = [];
        for (const p of prompts) rows.push((await reference.score(p, [c.ids], 1))[0]);
        const s = rows.map((r) => r.reduce((a, b) => a + b, 0));
        s.forEach((v, l) => expect(Math.abs(v - c.scoresNats[l])).toBeLessThan(1e-9));
        // The saved log-probs are the scorer's under the source context.
        expect(Math.abs(c.logprobsNats.reduce((a, b) => a + b, 0) - s[c.context])).toBeLessThan(1e-9);
        const term = s[c.context] - lse(s) + Math.log(n);
        expect(Math.abs(term - c.termNats)).toBeLessThan(1e-9);
        terms.push(term);
      }
      const mean = terms.reduce((a, b) => a + b, 0) / terms.length;
      expect(Math.abs(out.summary.miNats - mean)).toBeLessThan(1e-9);
      // Each compression was saved as it finished, with the ids that were scored.
      expect(saved).toHaveLength(6);
      for (const c of saved) expect(out.compressions[c.context * 2 + c.sample].ids).toEqual(c.ids);
    });
  }

  it('an interrupt mid-generation returns the finished ones; resuming skips them and equals a full run', async () => {
    const full = await runEstimate(loadFixture(), request, {}, { compressor: new FakeWriter(2, true) });
    if (full.status !== 'done') throw new Error('expected done');

    const writer = new FakeWriter(2, true);
    const signal = { aborted: false };
    writer.beforeAnswer = (count) => {
      if (count === 3) {
        signal.aborted = true;
        writer.interrupt();
      }
    };
    const delivered: GeneratedCompression[] = [];
    const cut = await runEstimate(loadFixture(), request, { signal, onCompression: (c) => void delivered.push(c) }, { compressor: writer });
    expect(cut).toMatchObject({ status: 'cancelled', phase: 'generating' });
    if (cut.status !== 'cancelled') return;
    expect(cut.compressions).toHaveLength(3);
    expect(delivered).toHaveLength(3);

    const again = new FakeWriter(2, true);
    const resumed = await runEstimate(loadFixture(), { ...request, resume: cut.compressions }, {}, { compressor: again });
    if (resumed.status !== 'done') throw new Error('expected done');
    expect(again.prompts).toHaveLength(3);
    expect(resumed.compressions.map((c) => c.termNats)).toEqual(full.compressions.map((c) => c.termNats));
    expect(resumed.summary.miNats).toBe(full.summary.miNats);
  });

  it('refuses, before any text is written, a context that does not fit the scorer window', async () => {
    const writer = new FakeWriter(2, true);
    const long = { ...request, contexts: [...request.contexts.slice(0, 2), 'word '.repeat(400)] };
    await expect(runEstimate(loadFixture(), long, {}, { compressor: writer })).rejects.toMatchObject({ name: 'ContextTooLongError' });
    expect(writer.prompts).toHaveLength(0);
  });
});
