import { describe, expect, it } from 'vitest';
import type { Engine, EngineCounters, GenerateResult, ModelInfo, Prompt, SamplingSettings, TokenEvent } from './engine';
import { InterruptedError } from './errors';
import { logSumExp } from './estimator';
import { COMPRESSION_TEMPLATE_VERSION } from './prompts';
import { uniformRng } from './rng';
import { runEstimate, type EstimateProgress, type EstimateRequest, type GeneratedCompression } from './run-estimate';

const STOP = 2;
const VOCAB = 8;

/**
 * A tiny deterministic "language model": next-token logits depend on the prompt (through a hash)
 * and the position, so contexts differ in what they predict and the test can recompute every
 * log-prob independently.
 */
function logits(promptIds: number[], prefix: number[]): number[] {
  let h = 17;
  for (const id of promptIds) h = (h * 31 + id) % 1000003;
  const pos = prefix.length;
  const last = prefix.length ? prefix[prefix.length - 1] : 0;
  return Array.from({ length: VOCAB }, (_, v) => {
    if (v === 0 || v === 1) return -Infinity; // never produce <unk>/BOS
    if (v === STOP) return pos < 2 ? -3 : 0.5;
    return (((h + pos * 7 + v * 13 + last * 5) % 11) / 2) * (((h >> 3) % 3) + 1) * 0.6;
  });
}

function logprob(promptIds: number[], prefix: number[], id: number, temperature: number): number {
  const t = temperature === 0 ? 1 : temperature;
  const z = logits(promptIds, prefix).map((x) => x / t);
  return z[id] - logSumExp(z);
}

class FakeEngine implements Engine {
  readonly info: ModelInfo = {
    id: 'fake:test',
    engine: 'reference',
    promptStyle: 'plain',
    contextWindowTokens: 64,
    vocabSize: VOCAB,
    bosId: 1,
    stopIds: [STOP],
  };
  counts: EngineCounters = { prefillTokens: 0, decodeSteps: 0, forwardCalls: 0 };
  scoreCalls: { promptIds: number[]; continuations: number[][]; temperature: number }[] = [];
  generateCalls: { promptIds: number[]; settings: SamplingSettings }[] = [];
  /** Seeds for which generate returns no ids at all (an engine that stops silently). */
  emptySeeds = new Set<number>();
  /** Called before each generated token / each scored continuation, to trigger interrupts. */
  onStep?: (kind: 'generate' | 'score') => void;
  private interrupted = false;
  private running = false;

  tokenize(text: string): number[] {
    return [...text].map((ch) => 3 + (ch.charCodeAt(0) % (VOCAB - 3)));
  }
  detokenize(ids: number[]): string {
    return ids.map((id) => (id === STOP ? '' : String.fromCharCode(96 + id))).join('');
  }
  promptIds(prompt: Prompt): number[] {
    const text = prompt.kind === 'plain' ? prompt.text : prompt.messages.map((m) => m.content).join('\n\n');
    return [1, ...this.tokenize(text)];
  }
  private forward(tokens: number): void {
    this.counts.forwardCalls++;
    if (tokens === 1) this.counts.decodeSteps++;
    else this.counts.prefillTokens += tokens;
  }
  async generate(promptIds: number[], settings: SamplingSettings, onToken?: (e: TokenEvent) => void): Promise<GenerateResult> {
    this.generateCalls.push({ promptIds, settings });
    this.running = true;
    this.interrupted = false;
    try {
      const ids: number[] = [];
      const logprobsNats: number[] = [];
      if (this.emptySeeds.has(settings.seed)) return { ids, logprobsNats, stopReason: 'stop' };
      this.forward(promptIds.length);
      const rng = uniformRng(settings.seed);
      for (;;) {
        await Promise.resolve();
        this.onStep?.('generate');
        if (this.interrupted) return { ids, logprobsNats, stopReason: 'interrupted' };
        const lp = Array.from({ length: VOCAB }, (_, v) => logprob(promptIds, ids, v, settings.temperature));
        let u = rng();
        let id = VOCAB - 1;
        for (let v = 0; v < VOCAB; v++) {
          u -= Math.exp(lp[v]);
          if (u < 0) {
            id = v;
            break;
          }
        }
        ids.push(id);
        logprobsNats.push(lp[id]);
        onToken?.({ id, text: this.detokenize([id]), logprobNats: lp[id], index: ids.length - 1 });
        if (id === STOP) return { ids, logprobsNats, stopReason: 'stop' };
        if (ids.length >= settings.maxTokens) return { ids, logprobsNats, stopReason: 'length' };
        this.forward(1);
      }
    } finally {
      this.running = false;
      this.interrupted = false;
    }
  }
  async score(promptIds: number[], continuations: number[][], temperature = 1): Promise<number[][]> {
    this.scoreCalls.push({ promptIds, continuations, temperature });
    this.running = true;
    this.interrupted = false;
    try {
      this.forward(promptIds.length);
      const out: number[][] = [];
      for (const cont of continuations) {
        await Promise.resolve();
        this.onStep?.('score');
        if (this.interrupted) throw new InterruptedError('Scoring');
        if (cont.length > 1) this.forward(cont.length - 1);
        out.push(cont.map((id, t) => logprob(promptIds, cont.slice(0, t), id, temperature)));
      }
      return out;
    } finally {
      this.running = false;
      this.interrupted = false;
    }
  }
  interrupt(): void {
    if (this.running) this.interrupted = true;
  }
  counters(): EngineCounters {
    return { ...this.counts };
  }
  resetCounters(): void {
    this.counts = { prefillTokens: 0, decodeSteps: 0, forwardCalls: 0 };
  }
  async dispose(): Promise<void> {}
}

const CONTEXTS = ['the cat sat', 'a dog ran far away', 'birds sing at dawn', 'rain on the roof'];

function request(overrides: Partial<EstimateRequest> = {}): EstimateRequest {
  return {
    contexts: CONTEXTS,
    question: 'who?',
    samplesPerContext: 2,
    settings: { temperature: 1, topP: 1, maxTokens: 12, seed: 5 },
    ...overrides,
  };
}

/** Independent recomputation of a term from prompt ids and compression ids. */
function independentTerm(prompts: number[][], ids: number[], source: number, temperature: number): number {
  const s = prompts.map((p) => ids.reduce((acc, id, t) => acc + logprob(p, ids.slice(0, t), id, temperature), 0));
  const max = Math.max(...s);
  const lse = max + Math.log(s.reduce((acc, x) => acc + Math.exp(x - max), 0));
  return s[source] - lse + Math.log(prompts.length);
}

describe('runEstimate with a fake engine', () => {
  it('generates N*M compressions, scores each context once, and recomputes to the same terms', async () => {
    const engine = new FakeEngine();
    const delivered: GeneratedCompression[] = [];
    const progress: EstimateProgress[] = [];
    const tokens: [number, number][] = [];
    const out = await runEstimate(engine, request({ settings: { temperature: 0.8, topP: 1, maxTokens: 12, seed: 5 } }), {
      onCompression: (c) => void delivered.push(c),
      onProgress: (p) => void progress.push(p),
      onToken: (i, j) => void tokens.push([i, j]),
    });
    if (out.status !== 'done') throw new Error('expected done');
    const n = CONTEXTS.length;
    expect(out.compressions).toHaveLength(n * 2);
    expect(delivered.map((c) => [c.context, c.sample])).toEqual(out.compressions.map((c) => [c.context, c.sample]));
    expect(new Set(out.compressions.map((c) => c.seed)).size).toBe(n * 2);
    expect(tokens.length).toBe(out.compressions.reduce((a, c) => a + c.ids.length, 0));

    // One score call per context, each with every compression, at the sampling temperature.
    expect(engine.scoreCalls).toHaveLength(n);
    engine.scoreCalls.forEach((call, l) => {
      expect(call.promptIds).toEqual(out.contexts[l].promptIds);
      expect(call.continuations).toEqual(out.compressions.map((c) => c.ids));
      expect(call.temperature).toBe(0.8);
    });
    engine.generateCalls.forEach((call, k) => expect(call.promptIds).toEqual(out.contexts[Math.floor(k / 2)].promptIds));

    const prompts = out.contexts.map((c) => c.promptIds);
    for (const c of out.compressions) {
      expect(Math.abs(c.termNats - independentTerm(prompts, c.ids, c.context, 0.8))).toBeLessThan(1e-12);
      expect(Math.abs(c.pmiNats.reduce((a, b) => a + b, 0) - c.termNats)).toBeLessThan(1e-9);
      expect(c.pmiNats).toHaveLength(c.ids.length);
      expect(c.scoresNats).toHaveLength(n);
      expect(c.tokenTexts).toHaveLength(c.ids.length);
      expect(c.text).toBe(c.tokenTexts.join(''));
      expect(c.logprobsNats.reduce((a, b) => a + b, 0)).toBeCloseTo(c.scoresNats[c.context], 12);
      expect(c.termNats).toBeLessThanOrEqual(Math.log(n) + 1e-12);
    }
    const meanTerm = out.compressions.reduce((a, c) => a + c.termNats, 0) / out.compressions.length;
    expect(out.summary.miNats).toBeCloseTo(meanTerm, 12);
    expect(out.summary.miBits).toBeCloseTo(meanTerm / Math.LN2, 12);
    expect(out.summary.ceilingBits).toBe(2);
    expect(out.summary.n).toBe(n);
    expect(out.summary.m).toBe(2);
    expect(out.templateVersion).toBe(COMPRESSION_TEMPLATE_VERSION);
    expect(out.promptStyle).toBe('plain');
    expect(out.scorerModelId).toBe('fake:test');
    expect(out.warnings).toEqual([]);

    // Scoring work: each prompt prefilled once plus each compression's ids but the last.
    const sumPrompts = prompts.reduce((a, p) => a + p.length, 0);
    const sumZ = out.compressions.reduce((a, c) => a + c.ids.length - 1, 0);
    const scoringTokens = out.counters.scoring.prefillTokens + out.counters.scoring.decodeSteps;
    expect(scoringTokens).toBe(sumPrompts + n * sumZ);

    expect(progress[0]).toEqual({ phase: 'generating', done: 0, total: n * 2, etaSeconds: null });
    expect(progress.filter((p) => p.phase === 'generating').at(-1)).toMatchObject({ done: n * 2, etaSeconds: 0 });
    expect(progress.filter((p) => p.phase === 'scoring').map((p) => p.done)).toEqual([0, 1, 2, 3, 4]);
  });

  it('is reproducible from the seed', async () => {
    const a = await runEstimate(new FakeEngine(), request());
    const b = await runEstimate(new FakeEngine(), request());
    const c = await runEstimate(new FakeEngine(), request({ settings: { temperature: 1, topP: 1, maxTokens: 12, seed: 6 } }));
    if (a.status !== 'done' || b.status !== 'done' || c.status !== 'done') throw new Error('expected done');
    expect(b.compressions.map((x) => x.ids)).toEqual(a.compressions.map((x) => x.ids));
    expect(c.compressions.map((x) => x.seed)).not.toEqual(a.compressions.map((x) => x.seed));
    const nucleus = await runEstimate(new FakeEngine(), request({ settings: { temperature: 1, topP: 0.9, maxTokens: 12, seed: 5 } }));
    if (nucleus.status !== 'done') throw new Error('expected done');
    expect(nucleus.warnings.join(' ')).toMatch(/top_p is 0.9/);
  });

  it('refuses a bank of fewer than two contexts before touching the engine', async () => {
    const engine = new FakeEngine();
    await expect(runEstimate(engine, request({ contexts: ['only one'] }))).rejects.toMatchObject({
      name: 'NotEnoughContextsError',
      message: expect.stringMatching(/at least two contexts/),
    });
    await expect(runEstimate(engine, request({ contexts: [] }))).rejects.toMatchObject({ name: 'NotEnoughContextsError' });
    expect(engine.generateCalls).toHaveLength(0);
  });

  it('generateOnly: compressions of a single context, no scoring and no estimate', async () => {
    const engine = new FakeEngine();
    const saved: GeneratedCompression[] = [];
    const out = await runEstimate(engine, request({ contexts: ['only one'], generateOnly: true }), {
      onCompression: (c) => {
        saved.push(c);
      },
    });
    expect(out.status).toBe('generated');
    if (out.status !== 'generated') return;
    expect(out.compressions).toHaveLength(request().samplesPerContext);
    expect(saved).toEqual(out.compressions);
    expect(out.contexts).toHaveLength(1);
    expect(out.counters.scoring).toEqual({ prefillTokens: 0, decodeSteps: 0, forwardCalls: 0 });
    await expect(runEstimate(engine, request({ contexts: [], generateOnly: true }))).rejects.toMatchObject({
      name: 'NotEnoughContextsError',
    });
  });

  it('refuses a context that leaves no room for the compression in the window', async () => {
    const engine = new FakeEngine();
    const long = 'x'.repeat(60);
    await expect(runEstimate(engine, request({ contexts: ['short', long] }))).rejects.toMatchObject({
      name: 'ContextTooLongError',
      message: expect.stringMatching(/Context 2/),
    });
    expect(engine.generateCalls).toHaveLength(0);
    await expect(runEstimate(engine, request({ samplesPerContext: 0 }))).rejects.toMatchObject({ name: 'InvalidArgumentError' });
  });

  it('flags truncated compressions and scores what was produced', async () => {
    const out = await runEstimate(new FakeEngine(), request({ settings: { temperature: 1, topP: 1, maxTokens: 2, seed: 1 } }));
    if (out.status !== 'done') throw new Error('expected done');
    const truncated = out.compressions.filter((c) => c.truncated);
    expect(truncated.length).toBeGreaterThan(0);
    expect(out.flags.truncated).toBe(truncated.length);
    for (const c of truncated) {
      expect(c.stopReason).toBe('length');
      expect(c.ids).toHaveLength(2);
      expect(c.ids).not.toContain(STOP);
      expect(c.pmiNats).toHaveLength(2);
    }
  });

  it('gives an empty compression a term of 0, flags it, and does not send it to score', async () => {
    const engine = new FakeEngine();
    const probe = await runEstimate(new FakeEngine(), request());
    if (probe.status !== 'done') throw new Error('expected done');
    engine.emptySeeds.add(probe.compressions[3].seed);
    const out = await runEstimate(engine, request());
    if (out.status !== 'done') throw new Error('expected done');
    const empty = out.compressions[3];
    expect(empty).toMatchObject({ empty: true, termNats: 0, pmiNats: [], ids: [], text: '' });
    expect(empty.scoresNats).toEqual([0, 0, 0, 0]);
    expect(out.flags.empty).toBe(1);
    for (const call of engine.scoreCalls) expect(call.continuations).toHaveLength(7);
    // The empty compression counts in the mean (the channel produced it).
    const mean = out.compressions.reduce((a, c) => a + c.termNats, 0) / 8;
    expect(out.summary.miNats).toBeCloseTo(mean, 12);
  });

  it('cancel while generating returns the finished compressions; resuming gives the full run', async () => {
    const full = await runEstimate(new FakeEngine(), request());
    if (full.status !== 'done') throw new Error('expected done');

    const engine = new FakeEngine();
    const signal = { aborted: false };
    const delivered: GeneratedCompression[] = [];
    let generatedTokens = 0;
    engine.onStep = (kind) => {
      // Cancel during the fourth compression.
      if (kind === 'generate' && delivered.length === 3 && ++generatedTokens === 1) {
        signal.aborted = true;
        engine.interrupt();
      }
    };
    const out = await runEstimate(engine, request(), { signal, onCompression: (c) => void delivered.push(c) });
    expect(out.status).toBe('cancelled');
    if (out.status !== 'cancelled') return;
    expect(out.phase).toBe('generating');
    expect(out.compressions).toEqual(delivered);
    expect(out.compressions).toHaveLength(3);
    expect(engine.scoreCalls).toHaveLength(0);
    expect(out.counters.generation.forwardCalls).toBeGreaterThan(0);

    const resumedEngine = new FakeEngine();
    const again: GeneratedCompression[] = [];
    const resumed = await runEstimate(resumedEngine, request({ resume: out.compressions }), {
      onCompression: (c) => void again.push(c),
    });
    if (resumed.status !== 'done') throw new Error('expected done');
    expect(again).toHaveLength(5);
    expect(resumedEngine.generateCalls).toHaveLength(5);
    expect(resumed.compressions.map((c) => c.termNats)).toEqual(full.compressions.map((c) => c.termNats));
    expect(resumed.summary).toEqual(full.summary);
  });

  it('cancel while scoring returns every compression and no scores; a signal alone stops between calls', async () => {
    const engine = new FakeEngine();
    const signal = { aborted: false };
    let scored = 0;
    engine.onStep = (kind) => {
      if (kind === 'score' && ++scored === 10) {
        signal.aborted = true;
        engine.interrupt();
      }
    };
    const out = await runEstimate(engine, request(), { signal });
    expect(out).toMatchObject({ status: 'cancelled', phase: 'scoring' });
    if (out.status !== 'cancelled') return;
    expect(out.compressions).toHaveLength(8);
    expect(engine.scoreCalls).toHaveLength(2);

    const idle = new FakeEngine();
    const before = await runEstimate(idle, request(), { signal: { aborted: true } });
    expect(before).toMatchObject({ status: 'cancelled', phase: 'generating', compressions: [] });
    expect(idle.generateCalls).toHaveLength(0);

    // Aborted between the last generation and scoring: everything generated, nothing scored.
    const between = new FakeEngine();
    const sig = { aborted: false };
    let count = 0;
    const out2 = await runEstimate(between, request(), {
      signal: sig,
      onCompression: () => {
        if (++count === 8) sig.aborted = true;
      },
    });
    expect(out2).toMatchObject({ status: 'cancelled', phase: 'scoring' });
    expect(between.scoreCalls).toHaveLength(0);
  });
});
