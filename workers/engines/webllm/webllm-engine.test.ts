import { describe, expect, it } from 'vitest';
import { logProb } from '../reference/sampler';
import { FakeWebLlm, FAKE_STOP_ID, fakeLogits, type FakeOptions } from './fake-backend';
import { LogitCapture, rowLogProb, FORCE_OFF_LOGIT } from './logit-capture';
import { FAST_PATH_RMS_TOLERANCE_NATS, FAST_PATH_TOLERANCE_NATS, WebLlmEngine } from './webllm-engine';

function setup(opts: FakeOptions = {}) {
  const capture = new LogitCapture();
  const fake = new FakeWebLlm(capture, opts);
  const engine = new WebLlmEngine(fake, capture);
  return { capture, fake, engine };
}

/** Hand computation: ln softmax(fakeLogits(seq) / T)[id] in float64. */
function expectedLogProb(seq: number[], id: number, t = 1): number {
  return logProb(Float64Array.from(fakeLogits(seq)), id, t);
}

const settings = { temperature: 1, topP: 1, maxTokens: 12, seed: 7 };

describe('LogitCapture', () => {
  it('computes float64 log-softmax: uniform over 4 is -ln 4, [0, ln 3] gives ln 1/4 and ln 3/4', () => {
    const c = new LogitCapture();
    c.setMode({ kind: 'capture' });
    const same = new Float32Array([1, 1, 1, 1]);
    expect(c.processLogits(same)).toBe(same);
    expect(rowLogProb(c.lastRow!, 2, 1)).toBeCloseTo(-Math.log(4), 15);
    c.processLogits(new Float32Array([0, Math.log(3)]));
    // float32 rounding of ln 3 is the only error
    expect(rowLogProb(c.lastRow!, 0, 1)).toBeCloseTo(Math.log(1 / 4), 7);
    expect(rowLogProb(c.lastRow!, 1, 1)).toBeCloseTo(Math.log(3 / 4), 7);
    // temperature 2 halves the logits: [0, ln3/2] -> p1 = sqrt3/(1+sqrt3)
    expect(rowLogProb(c.lastRow!, 1, 2)).toBeCloseTo(Math.log(Math.sqrt(3) / (1 + Math.sqrt(3))), 7);
    // temperature 0 is scored at temperature 1
    expect(rowLogProb(c.lastRow!, 1, 0)).toBeCloseTo(Math.log(3 / 4), 7);
  });

  it('in sample mode returns a one-hot row at its own draw and records its log-prob', () => {
    const c = new LogitCapture();
    c.startSampling(0, 1, 1);
    const out = c.processLogits(new Float32Array([0.5, 3, 1]));
    expect(Array.from(out)).toEqual([FORCE_OFF_LOGIT, 0, FORCE_OFF_LOGIT]);
    expect(c.lastSample!.id).toBe(1);
    const lse = Math.log(Math.exp(0.5) + Math.exp(3) + Math.exp(1));
    expect(c.lastSample!.logprobNats).toBeCloseTo(3 - lse, 12);
  });

  it('passes logits through untouched in pass mode', () => {
    const c = new LogitCapture();
    const row = new Float32Array([1, 2]);
    expect(c.processLogits(row)).toBe(row);
    expect(c.lastRow).toBeNull();
  });
});

describe('WebLlmEngine.generate', () => {
  it('returns exact ids and float64 log-probs of the sampled ids', async () => {
    const { engine, fake } = setup({ kernelNoise: 0 });
    const prompt = [1, 2, 3];
    const events: number[] = [];
    const r = await engine.generate(prompt, settings, (e) => events.push(e.id));
    expect(r.ids.length).toBeGreaterThan(0);
    expect(events).toEqual(r.ids);
    const seq = [...prompt];
    r.ids.forEach((id, i) => {
      expect(r.logprobsNats[i]).toBeCloseTo(expectedLogProb(seq, id), 12);
      seq.push(id);
    });
    if (r.stopReason === 'stop') expect(r.ids.at(-1)).toBe(FAKE_STOP_ID);
    else expect(r.ids.length).toBe(settings.maxTokens);
    expect(fake.overlaps).toBe(0);
  });

  it('is deterministic for a seed and honours temperature 0 (argmax, scored at T=1)', async () => {
    const a = await setup().engine.generate([4, 5], settings);
    const b = await setup().engine.generate([4, 5], settings);
    expect(b).toEqual(a);
    const g = await setup({ kernelNoise: 0 }).engine.generate([4, 5], { ...settings, temperature: 0, maxTokens: 3 });
    const row = Float64Array.from(fakeLogits([4, 5]));
    let best = 0;
    for (let k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
    expect(g.ids[0]).toBe(best);
    expect(g.logprobsNats[0]).toBeCloseTo(logProb(row, best, 1), 12);
  });

  it('captured log-probs equal forced-decoding scores of the same ids', async () => {
    const { engine } = setup({ contextWindowTokens: 512 });
    const prompt = engine.promptIds({ kind: 'chat', messages: [{ role: 'user', content: 'abc' }] });
    const g = await engine.generate(prompt, { ...settings, temperature: 0.8 });
    const [scores] = await engine.score(prompt, [g.ids], 0.8);
    expect(scores.length).toBe(g.ids.length);
    scores.forEach((s, i) => expect(Math.abs(s - g.logprobsNats[i])).toBeLessThan(1e-12));
  });

  it('stops at the window (length) and rejects a prompt that leaves no room', async () => {
    const { engine } = setup({ contextWindowTokens: 6 });
    const r = await engine.generate([1, 2, 3, 4], { ...settings, temperature: 0, maxTokens: 50 });
    expect(r.ids.length).toBeLessThanOrEqual(2);
    await expect(engine.generate([1, 2, 3, 4, 5, 6], settings)).rejects.toMatchObject({ name: 'ContextTooLongError' });
  });

  it('interrupt stops at the next token boundary and leaves the engine usable', async () => {
    const { engine } = setup();
    let seen = 0;
    const r = await engine.generate([1, 2], { ...settings, temperature: 0.01, maxTokens: 40 }, () => {
      seen++;
      if (seen === 2) engine.interrupt();
    });
    expect(r.stopReason).toBe('interrupted');
    expect(r.ids.length).toBe(2);
    // An interrupt while idle does not poison the next call.
    engine.interrupt();
    const again = await engine.generate([1, 2], { ...settings, maxTokens: 2 });
    expect(again.stopReason).not.toBe('interrupted');
  });
});

describe('WebLlmEngine.score (forced decoding)', () => {
  it('returns exact per-token log-probs under the prompt', async () => {
    const { engine } = setup({ kernelNoise: 0 });
    const prompt = [3, 1, 4];
    const conts = [[1, 5, 9, 2], [6], []];
    const out = await engine.score(prompt, conts);
    expect(out[2]).toEqual([]);
    conts.forEach((z, c) => {
      const seq = [...prompt];
      z.forEach((id, i) => {
        expect(out[c][i]).toBeCloseTo(expectedLogProb(seq, id), 12);
        seq.push(id);
      });
    });
  });

  it('prefills the prompt once when the cache can roll back, once per continuation otherwise', async () => {
    const conts = [[1, 2, 3], [4, 5], [6, 7, 8]];
    const reuse = setup();
    const a = await reuse.engine.score([9, 9, 9, 9], conts);
    expect(reuse.engine.counters().prefillTokens).toBe(4);
    const noReuse = setup({ popKv: false });
    const b = await noReuse.engine.score([9, 9, 9, 9], conts);
    expect(noReuse.engine.counters().prefillTokens).toBe(12);
    expect(b).toEqual(a);
  });

  it('checks the context window before scoring', async () => {
    const { engine } = setup({ contextWindowTokens: 8 });
    await expect(engine.score([1, 2, 3, 4, 5], [[1, 2, 3, 4]])).rejects.toMatchObject({ name: 'ContextTooLongError' });
    await expect(engine.score([1, 2, 3, 4], [[1, 2, 3, 4]])).resolves.toHaveLength(1);
  });

  it('throws InterruptedError when interrupted mid-score', async () => {
    let engineRef: WebLlmEngine | null = null;
    let calls = 0;
    const { engine } = setup({ onForward: () => void (++calls === 3 && engineRef?.interrupt()) });
    engineRef = engine;
    await expect(engine.score([1, 2], [[1, 2, 3, 4, 5, 6]])).rejects.toMatchObject({ name: 'InterruptedError' });
    await expect(engine.score([1, 2], [[1, 2]])).resolves.toHaveLength(1);
  });

  it('serialises concurrent calls', async () => {
    const { engine, fake } = setup();
    await Promise.all([engine.generate([1], settings), engine.score([2, 3], [[4, 5, 6]]), engine.generate([7], settings)]);
    expect(fake.overlaps).toBe(0);
  });
});

describe('fast all-positions path', () => {
  it('is used when it agrees with forced decoding, and gives the same scores', async () => {
    const { engine } = setup({ verify: true, prefillChunkTokens: 3, contextWindowTokens: 512, kernelNoise: 0 });
    const status = await engine.verifyFastPath();
    expect(status).toMatchObject({ available: true, verified: true, used: true, maxRows: 3 });
    expect(status.maxAbsDiffNats).toBeLessThan(1e-12);
    const before = engine.counters().decodeSteps;
    const fast = await engine.score([1, 2, 3], [[4, 5, 6, 7, 8, 9, 10]]);
    expect(engine.counters().decodeSteps).toBe(before); // no per-token forwards
    const slow = await setup({ kernelNoise: 0 }).engine.score([1, 2, 3], [[4, 5, 6, 7, 8, 9, 10]]);
    fast[0].forEach((v, i) => expect(Math.abs(v - slow[0][i])).toBeLessThan(1e-12));
  });

  it('with f16-like kernel noise it is used, and its scores stay within the tolerance', async () => {
    const { engine } = setup({ verify: true, prefillChunkTokens: 3, contextWindowTokens: 512, kernelNoise: 1e-3 });
    const status = await engine.verifyFastPath();
    expect(status.maxAbsDiffNats).toBeGreaterThan(1e-4);
    expect(status.used).toBe(true);
    const z = [4, 5, 6, 7, 8, 9, 10];
    const [fast] = await engine.score([1, 2, 3], [z]);
    const [slow] = await setup({ kernelNoise: 1e-3 }).engine.score([1, 2, 3], [z]);
    fast.forEach((v, i) => expect(Math.abs(v - slow[i])).toBeLessThanOrEqual(FAST_PATH_TOLERANCE_NATS));
    expect(status.rmsDiffNats).toBeLessThanOrEqual(FAST_PATH_RMS_TOLERANCE_NATS);
    expect(engine.info.loadReport).toMatchObject({ fastPath: true, promptReuse: true, fastPathToleranceNats: FAST_PATH_TOLERANCE_NATS });
  });

  it('chunks all-positions calls by the backend row limit', async () => {
    const { engine, fake } = setup({ verify: true, prefillChunkTokens: 8, contextWindowTokens: 512, kernelNoise: 0 });
    fake.verifyMaxRows = 2;
    const calls: number[] = [];
    const inner = fake.verifyAllPositions!;
    fake.verifyAllPositions = (ids) => (calls.push(ids.length), inner(ids));
    await engine.verifyFastPath();
    calls.length = 0;
    await engine.score([1, 2], [[3, 4, 5, 6, 7, 8]]);
    expect(calls).toEqual([2, 2, 1]);
  });

  it('falls back to forced decoding when it disagrees, recording the largest difference', async () => {
    const { engine } = setup({ verify: true, verifyBias: 0.5, contextWindowTokens: 512 });
    const status = await engine.verifyFastPath();
    expect(status.used).toBe(false);
    expect(status.maxAbsDiffNats).toBeGreaterThan(FAST_PATH_TOLERANCE_NATS);
    expect(status.note).toMatch(/using forced decoding/);
    const decodeBefore = engine.counters().decodeSteps;
    await engine.score([1, 2], [[3, 4, 5]]);
    expect(engine.counters().decodeSteps).toBe(decodeBefore + 2);
  });

  it('falls back when the rms difference is over its tolerance though no single token is', async () => {
    const { engine } = setup({ verify: true, verifyBias: 0.035, contextWindowTokens: 512, kernelNoise: 0 });
    const status = await engine.verifyFastPath();
    expect(status.maxAbsDiffNats).toBeLessThanOrEqual(FAST_PATH_TOLERANCE_NATS);
    expect(status.rmsDiffNats).toBeGreaterThan(FAST_PATH_RMS_TOLERANCE_NATS);
    expect(status.used).toBe(false);
    expect(engine.info.loadReport).toMatchObject({ fastPath: false, fastPathRmsToleranceNats: FAST_PATH_RMS_TOLERANCE_NATS });
  });

  it('reports unavailable without a verify function, and keeps a working prompt reuse', async () => {
    const { engine } = setup({ contextWindowTokens: 512 });
    expect(await engine.verifyFastPath()).toMatchObject({ available: false, used: false, verified: false, promptReuse: true });
  });

  it('switches prompt reuse off when the KV roll-back changes scores', async () => {
    const { engine } = setup({ contextWindowTokens: 512, brokenPop: true });
    const status = await engine.verifyFastPath();
    expect(status.promptReuse).toBe(false);
    expect(status.promptReuseNote).toMatch(/roll-back changed scores/);
    expect(engine.info.loadReport).toMatchObject({ promptReuse: false });
    const conts = [[1, 2, 3], [4, 5]];
    const out = await engine.score([9, 9], conts);
    const ref = await setup({ popKv: false }).engine.score([9, 9], conts);
    expect(out).toEqual(ref);
  });
});

describe('info and templates', () => {
  it('exposes model info and builds ChatML prompt ids', () => {
    const { engine } = setup();
    expect(engine.info).toMatchObject({ engine: 'webllm', promptStyle: 'chat', contextWindowTokens: 64, stopIds: [FAKE_STOP_ID] });
    const ids = engine.promptIds({ kind: 'chat', messages: [{ role: 'user', content: 'hi' }] });
    expect(ids.length).toBeGreaterThan(0);
  });

  it('reports a lost device when web-llm has dropped the model', async () => {
    const { engine } = setup({
      onForward: () => {
        throw Object.assign(new Error('Model not loaded before trying to complete forwardTokensAndSample'), { name: 'ModelNotLoadedError' });
      },
    });
    await expect(engine.generate([1, 2], settings)).rejects.toMatchObject({ name: 'DeviceLostError' });
  });

  it('dispose unloads once', async () => {
    const { engine, fake } = setup();
    await engine.dispose();
    await engine.dispose();
    expect(fake.unloaded).toBe(true);
  });
});
