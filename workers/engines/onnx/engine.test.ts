/**
 * The ONNX engine in Node (transformers.js on onnxruntime-node, CPU) on the stories260K-onnx
 * fixture, checked against the fixture's known answers and against the reference engine (float64)
 * on the same weights.
 */
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_DIR, PROMPT_IDS, CONTINUATION_IDS, loadFixture } from '../../../cli/fixture';
import { runEstimate } from '../../../src/lib/core/run-estimate';
import type { ReferenceEngine } from '../reference/engine';
import { OnnxEngine } from './engine';
import { loadOnnxEngine, loadOnnxParts, planOnnxLoad } from './load';

const ONNX_DIR = path.join(path.dirname(FIXTURE_DIR), 'stories260K-onnx');
const present = existsSync(path.join(ONNX_DIR, 'onnx', 'model.onnx'));
if (!present) console.warn(`[onnx engine] SKIPPED: stories260K-onnx fixture not found at ${ONNX_DIR} (set PRECIS_MODELS_DIR).`);

const GREEDY = { temperature: 0, topP: 1, maxTokens: 200, seed: 0 };

describe.skipIf(!present)('OnnxEngine on stories260K-onnx (onnxruntime-node)', { timeout: 30_000 }, () => {
  let onnx: OnnxEngine;
  let ref: ReferenceEngine;
  beforeAll(async () => {
    onnx = await loadOnnxEngine({ kind: 'dir', path: ONNX_DIR }, { device: 'cpu' });
    ref = loadFixture();
  }, 60_000);
  afterAll(async () => {
    await onnx?.dispose();
  });

  it('describes the model: plain prompts, BOS 1, stop id 2 from generation_config, window 512', () => {
    expect(onnx.info).toMatchObject({
      id: 'onnx:stories260K',
      engine: 'onnx',
      promptStyle: 'plain',
      contextWindowTokens: 512,
      vocabSize: 512,
      bosId: 1,
      stopIds: [2],
      runtime: { device: 'cpu', dtype: 'fp32' },
    });
  });

  it('builds the same prompt ids as the reference engine', () => {
    for (const text of ['Once upon a time', 'Lily and Tom went to the park.\nWho is in the story?', '']) {
      expect(onnx.promptIds({ kind: 'plain', text })).toEqual(ref.promptIds({ kind: 'plain', text }));
    }
    const chat = { kind: 'chat' as const, messages: [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'A cat sat.' }] };
    expect(onnx.promptIds(chat)).toEqual(ref.promptIds(chat));
    expect(onnx.tokenize('Once upon a time')).toEqual(PROMPT_IDS.slice(1, 5));
  });

  it('greedy from BOS gives the known answer (200 ids, equal to the reference engine)', async () => {
    const out = await onnx.generate([1], GREEDY);
    const expected = await ref.generate([1], GREEDY);
    expect(out.ids.slice(0, 15)).toEqual(PROMPT_IDS.slice(1));
    expect(out.ids).toEqual(expected.ids);
    expect(out.stopReason).toBe('length');
    for (let i = 0; i < out.ids.length; i++) expect(Math.abs(out.logprobsNats[i] - expected.logprobsNats[i])).toBeLessThan(1e-4);
    expect(onnx.decodeAfter(out.ids.slice(0, 15), 1)).toBe('Once upon a time, there was a little girl named Lily.');
  });

  it('a seed gives the same draw as the reference engine (temperature 1, top_p 0.9)', async () => {
    const settings = { temperature: 1, topP: 0.9, maxTokens: 64, seed: 1234 };
    const a = await onnx.generate(PROMPT_IDS, settings);
    const b = await ref.generate(PROMPT_IDS, settings);
    expect(a.ids).toEqual(b.ids);
    const texts: string[] = [];
    await onnx.generate(PROMPT_IDS, settings, (e) => texts.push(e.text));
    expect(texts.join('')).toBe(onnx.decodeAfter(a.ids, PROMPT_IDS.at(-1)));
  });

  it('scores equal the reference engine within 1e-4 nats per token, in few batched calls', async () => {
    const conts = [CONTINUATION_IDS, CONTINUATION_IDS.slice(0, 5), [338], [], [2, 2, 2], CONTINUATION_IDS.slice(3)];
    onnx.resetCounters();
    const got = await onnx.score(PROMPT_IDS, conts, 1);
    const c = onnx.counters();
    const want = await ref.score(PROMPT_IDS, conts, 1);
    expect(got.map((r) => r.length)).toEqual(conts.map((r) => r.length));
    for (let i = 0; i < conts.length; i++) for (let k = 0; k < conts[i].length; k++) expect(Math.abs(got[i][k] - want[i][k])).toBeLessThan(1e-4);
    const sum = got[0].reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - -4.08896)).toBeLessThan(1e-4);
    // One prefill of the prompt and one batched call for every continuation: tokens as §5.
    expect(c.forwardCalls).toBe(2);
    expect(c.decodeSteps).toBe(0);
    expect(c.prefillTokens).toBe(PROMPT_IDS.length + conts.reduce((a, z) => a + Math.max(0, z.length - 1), 0));
    // At temperature 0.7 too.
    const hot = await onnx.score(PROMPT_IDS, [CONTINUATION_IDS], 0.7);
    const hotRef = await ref.score(PROMPT_IDS, [CONTINUATION_IDS], 0.7);
    for (let k = 0; k < 16; k++) expect(Math.abs(hot[0][k] - hotRef[0][k])).toBeLessThan(1e-4);
  });

  it('a tight logits budget splits prompts and continuations into more calls with the same numbers', async () => {
    const parts = await loadOnnxParts({ kind: 'dir', path: ONNX_DIR }, { device: 'cpu' });
    // 4 rows of 512 logits per call: prompt chunks of 4, continuations of 15 scored alone in chunks.
    const tight = new OnnxEngine(parts, { logitsBudgetBytes: 4 * 4 * 512, prefillChunkTokens: 4 });
    const conts = [CONTINUATION_IDS, [338, 401, 396], [338, 401]];
    const got = await tight.score(PROMPT_IDS, conts);
    const want = await ref.score(PROMPT_IDS, conts);
    for (let i = 0; i < conts.length; i++) for (let k = 0; k < conts[i].length; k++) expect(Math.abs(got[i][k] - want[i][k])).toBeLessThan(1e-4);
    expect(tight.counters().forwardCalls).toBeGreaterThan(5);
    expect(tight.counters().prefillTokens + tight.counters().decodeSteps).toBe(16 + 15 + 2 + 1);
    const g = await tight.generate([1], { ...GREEDY, maxTokens: 30 });
    expect(g.ids.slice(0, 15)).toEqual(PROMPT_IDS.slice(1));
    await tight.dispose();
  });

  it('one MI estimate equals the reference engine within 1e-3 bits; scoring tokens against ESTIMATOR.md §5', async () => {
    const request = {
      contexts: [
        'Lily had a red ball. She played with it in the park every day.',
        'Tom saw a big dog. The dog was friendly and wagged its tail.',
        'The sun was hot, so Mia went to swim in the lake with her mom.',
        'Ben lost his toy car. He looked under the bed and found it.',
      ],
      question: 'Who is in the story?',
      samplesPerContext: 2,
      settings: { temperature: 1, topP: 1, maxTokens: 24, seed: 3 },
    };
    const a = await runEstimate(onnx, request);
    const b = await runEstimate(ref, request);
    if (a.status !== 'done' || b.status !== 'done') throw new Error('estimate did not finish');
    expect(a.compressions.map((c) => c.ids)).toEqual(b.compressions.map((c) => c.ids));
    expect(Math.abs(a.summary.miBits - b.summary.miBits)).toBeLessThan(1e-3);
    const n = request.contexts.length;
    const prompts = a.contexts.reduce((s, c) => s + c.promptIds.length, 0);
    const z = a.compressions.reduce((s, c) => s + c.ids.length, 0);
    const minimum = prompts + n * z; // §5
    // The last id of each compression is never forwarded (its log-prob comes from the position before it).
    expect(a.counters.scoring.prefillTokens).toBe(minimum - n * a.compressions.length);
    expect(a.counters.scoring.decodeSteps).toBe(0);
    expect(a.counters.scoring.prefillTokens).toBe(b.counters.scoring.prefillTokens);
    // One prefill per context and one batched call for all compressions under it.
    expect(a.counters.scoring.forwardCalls).toBe(2 * n);
  });

  it('refuses a prompt that does not fit before any call, and interrupts between calls', async () => {
    onnx.resetCounters();
    await expect(onnx.score([1], [new Array(513).fill(5)])).rejects.toMatchObject({ name: 'ContextTooLongError' });
    await expect(onnx.generate(new Array(513).fill(5), GREEDY)).rejects.toMatchObject({ name: 'ContextTooLongError' });
    await expect(onnx.score([1, 9999], [[1]])).rejects.toMatchObject({ name: 'InvalidArgumentError' });
    expect(onnx.counters().forwardCalls).toBe(0);
    const running = onnx.generate([1], { ...GREEDY, maxTokens: 400 });
    setTimeout(() => onnx.interrupt(), 5);
    const out = await running;
    expect(out.stopReason).toBe('interrupted');
    const scoring = onnx.score(Array.from({ length: 300 }, () => 261), [CONTINUATION_IDS]);
    onnx.interrupt();
    await expect(scoring).rejects.toMatchObject({ name: 'InterruptedError' });
    // Still usable.
    const again = await onnx.generate([1], { ...GREEDY, maxTokens: 15 });
    expect(again.ids).toEqual(PROMPT_IDS.slice(1));
  });

  it('a lost WebGPU device ends the engine by name (DeviceLostError) and the next call says so', async () => {
    const parts = await loadOnnxParts({ kind: 'dir', path: ONNX_DIR }, { device: 'cpu' });
    let lose!: (info: { reason: string; message: string }) => void;
    const lost = new Promise<{ reason: string; message: string }>((r) => (lose = r));
    const engine = new OnnxEngine({ ...parts, gpu: { lost } });
    const first = await engine.generate([1], { ...GREEDY, maxTokens: 3 });
    expect(first.ids).toHaveLength(3);
    const running = engine.generate([1], { ...GREEDY, maxTokens: 400 });
    lose({ reason: 'unknown', message: 'GPU reset' });
    await expect(running).rejects.toMatchObject({ name: 'DeviceLostError' });
    await expect(engine.score([1], [[2]])).rejects.toMatchObject({ name: 'DeviceLostError', message: expect.stringMatching(/wasm device/) });
    await engine.dispose();
  });
});

describe.skipIf(!present)('loading bad ONNX model folders', { timeout: 30_000 }, () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'precis-onnx-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function copyFixture(name: string, skip: string[] = []): string {
    const to = path.join(dir, name);
    cpSync(ONNX_DIR, to, { recursive: true, filter: (src) => !skip.includes(path.relative(ONNX_DIR, src)) });
    return to;
  }

  it('a folder without config.json or tokenizer.json is a ModelFormatError', async () => {
    await expect(planOnnxLoad({ kind: 'dir', path: copyFixture('noconfig', ['config.json']) })).rejects.toMatchObject({
      name: 'ModelFormatError',
      message: expect.stringMatching(/config\.json/),
    });
    await expect(planOnnxLoad({ kind: 'dir', path: copyFixture('notok', ['tokenizer.json']) })).rejects.toMatchObject({
      name: 'ModelFormatError',
      message: expect.stringMatching(/tokenizer\.json/),
    });
    await expect(planOnnxLoad({ kind: 'dir', path: path.join(dir, 'nowhere') })).rejects.toMatchObject({ name: 'ModelFormatError' });
  });

  it('an unsupported architecture is an UnsupportedModelError', async () => {
    const to = copyFixture('bert');
    writeFileSync(path.join(to, 'config.json'), JSON.stringify({ model_type: 'bert', architectures: ['BertForMaskedLM'], vocab_size: 512 }));
    await expect(planOnnxLoad({ kind: 'dir', path: to })).rejects.toMatchObject({ name: 'UnsupportedModelError', message: expect.stringMatching(/bert/) });
  });

  it('a dtype without weights, or an unknown one, is an UnsupportedDtypeError naming what is there', async () => {
    await expect(planOnnxLoad({ kind: 'dir', path: ONNX_DIR }, { dtype: 'q4' })).rejects.toMatchObject({
      name: 'UnsupportedDtypeError',
      message: expect.stringMatching(/Available: fp32, q8/),
    });
    await expect(planOnnxLoad({ kind: 'dir', path: ONNX_DIR }, { dtype: 'q3' })).rejects.toMatchObject({ name: 'UnsupportedDtypeError' });
    await expect(planOnnxLoad({ kind: 'dir', path: ONNX_DIR }, { dtype: 'q4f16', device: 'webgpu', shaderF16: false })).rejects.toMatchObject({
      name: 'UnsupportedDtypeError',
    });
    const plan = await planOnnxLoad({ kind: 'dir', path: ONNX_DIR }, { dtype: 'q8' });
    expect(plan.dtype).toBe('q8');
    expect(plan.weightsBytes).toBe(598214);
    // Without a request the model's own transformers.js_config dtype (fp32) wins.
    expect((await planOnnxLoad({ kind: 'dir', path: ONNX_DIR })).dtype).toBe('fp32');
  });

  it('weights larger than the memory budget are refused before loading (ModelTooLargeError)', async () => {
    await expect(planOnnxLoad({ kind: 'dir', path: ONNX_DIR }, { memoryBudgetBytes: 1_000_000 })).rejects.toMatchObject({
      name: 'ModelTooLargeError',
      message: expect.stringMatching(/GB/),
    });
  });

  it('the q8 file loads and still gives the known greedy prefix', async () => {
    const e = await loadOnnxEngine({ kind: 'dir', path: ONNX_DIR }, { device: 'cpu', dtype: 'q8' });
    expect(e.info.runtime?.dtype).toBe('q8');
    const out = await e.generate([1], { ...GREEDY, maxTokens: 15 });
    expect(out.ids).toEqual(PROMPT_IDS.slice(1));
    await e.dispose();
  });
});
