/**
 * The web-llm engine on the honest fake of web-llm 0.2.86 (fake-mlc.ts): tvmjs scope rules,
 * kernels whose logits differ by realistic noise, a device with limits that is lost
 * asynchronously. These tests failed against the code before issue 9 item 9 (see the notes).
 */
import { describe, expect, it } from 'vitest';
import { FAKE_ROW_LENGTH, fakeLogits } from './fake-backend';
import { FakeMlcEngine, type FakeMlcOptions } from './fake-mlc';
import { backendFromMlcEngine } from './internals';
import { LogitCapture } from './logit-capture';
import { FAST_PATH_TOLERANCE_NATS, WebLlmEngine } from './webllm-engine';
import { startWebLlmEngine } from './engine';
import { logProb } from '../reference/sampler';

const MODEL = 'Fake-Instruct-q4f16_1-MLC';

async function stack(opts: FakeMlcOptions = {}) {
  const capture = new LogitCapture();
  const mlc = new FakeMlcEngine({ verify: true, ...opts }, capture);
  await mlc.reload(MODEL);
  const { backend, report } = backendFromMlcEngine(mlc, MODEL);
  const engine = new WebLlmEngine(backend, capture);
  return { capture, mlc, backend, report, engine };
}

/** Lets the fake device's asynchronous error scopes and loss run. */
const settle = () => new Promise((r) => setTimeout(r, 20));

describe('internals on the 0.2.86 scope rules', () => {
  it('finds kv_state_popn (looked up inside a scope) and rolls the cache back with integer scalars', async () => {
    const { backend, mlc, report } = await stack();
    expect(report.popKv).not.toMatch(/no KV roll-back/);
    expect(backend.popKv).toBeDefined();
    await backend.forwardTokensAndSample([1, 2, 3, 4], true);
    backend.popKv!(2);
    expect(mlc.pipeline!.kvCache.ids).toEqual([1, 2]);
    expect(mlc.pipeline!.filledKVCacheLength).toBe(2);
    expect(mlc.pipeline!.tvm.scopeDepth).toBe(0);
  });

  it('prefills the prompt once for many continuations on the real pipeline', async () => {
    const { engine, mlc } = await stack({ verify: false });
    await engine.score([1, 2, 3, 4, 5, 6], [[7, 8], [9, 10], [11, 12]]);
    const prefills = mlc.pipeline!.kernelLog.filter((k) => k.startsWith('prefill'));
    expect(prefills).toEqual(['prefill 6']);
  });

  it('reads batch_verify rows that match the toy model at every position', async () => {
    const { backend, mlc } = await stack({ kernelNoise: 0 });
    await backend.forwardTokensAndSample([1, 2, 3], true);
    const { rows, rowLength } = await backend.verifyAllPositions!([4, 5]);
    expect(rowLength).toBe(FAKE_ROW_LENGTH);
    expect(Array.from(rows.subarray(0, rowLength))).toEqual(Array.from(fakeLogits([1, 2, 3, 4])));
    expect(Array.from(rows.subarray(rowLength))).toEqual(Array.from(fakeLogits([1, 2, 3, 4, 5])));
    expect(mlc.pipeline!.filledKVCacheLength).toBe(5);
    expect(mlc.pipeline!.tvm.scopeDepth).toBe(0);
  });
});

describe('fast path with realistic kernel noise', () => {
  it('uses the all-positions path when kernels differ by f16-like rounding (1e-3 relative)', async () => {
    const { engine } = await stack({ contextWindowTokens: 512, kernelNoise: 1e-3 });
    const status = await engine.verifyFastPath();
    expect(status.maxAbsDiffNats).toBeGreaterThan(1e-4); // the kernels really differ
    expect(status.used).toBe(true);
    expect(status.promptReuse).toBe(true);
  });

  it('scores within the tolerance of exact float64 forced decoding', async () => {
    const { engine } = await stack({ contextWindowTokens: 512, kernelNoise: 1e-3 });
    await engine.verifyFastPath();
    const prompt = [3, 1, 4, 1, 5];
    const z = [9, 2, 6, 5, 3, 5, 8, 9, 7];
    const [scores] = await engine.score(prompt, [z]);
    const seq = [...prompt];
    z.forEach((id, i) => {
      expect(Math.abs(scores[i] - logProb(Float64Array.from(fakeLogits(seq)), id, 1))).toBeLessThan(2e-2);
      seq.push(id);
    });
  });
});

describe('a device with a small maxBufferSize', () => {
  it('never creates a buffer the device refuses, and the engine keeps working after the check', async () => {
    // Row bytes are 20 * 4 = 80; a 16-row chunk plan needs 1,280 bytes.
    const { engine, mlc } = await stack({ maxBufferSize: 1000, maxStorageBufferBindingSize: 1000, contextWindowTokens: 512 });
    await engine.verifyFastPath();
    await settle();
    expect(mlc.gpu!.device.failedBuffers).toEqual([]);
    expect(mlc.gpu!.device.destroyed).toBe(false);
    const r = await engine.generate([1, 2, 3], { temperature: 1, topP: 1, maxTokens: 4, seed: 1 });
    expect(r.ids.length).toBeGreaterThan(0);
  });
});

describe('startWebLlmEngine: the load never says ready on a dead device', () => {
  it('reports prompt reuse and the fast path with the loaded model', async () => {
    const capture = new LogitCapture();
    const mlc = new FakeMlcEngine({ verify: true, contextWindowTokens: 512 }, capture);
    await mlc.reload(MODEL);
    const texts: string[] = [];
    const engine = await startWebLlmEngine(mlc, MODEL, capture, (p) => texts.push(p.text));
    expect(engine.info.loadReport).toMatchObject({ promptReuse: true, fastPath: true, fastPathToleranceNats: FAST_PATH_TOLERANCE_NATS });
    expect(engine.info.loadReport!.fastPathMaxDiffNats).toBeGreaterThan(0);
    expect(engine.info.loadReport!.fastPathNote).toMatch(/using it, 16 positions per call/);
    expect(texts.at(-1)).toMatch(/agrees with forced decoding/);
  });

  it('a device lost by the all-positions probe (out of GPU memory) loads the model again without it', async () => {
    const capture = new LogitCapture();
    // 1,000 bytes of GPU memory: the probe's 1,280-byte logits plan cannot be created.
    const mlc = new FakeMlcEngine({ verify: true, contextWindowTokens: 512, memoryBytes: 1000 }, capture);
    await mlc.reload(MODEL);
    const firstDevice = mlc.gpu!.device;
    const texts: string[] = [];
    const engine = await startWebLlmEngine(mlc, MODEL, capture, (p) => texts.push(p.text));
    expect(firstDevice.destroyed).toBe(true);
    expect(mlc.reloads).toBe(2);
    expect(mlc.gpu!.device.destroyed).toBe(false);
    expect(texts).toContain('The GPU was lost while checking the fast scoring path; loading the model again without it');
    expect(engine.info.loadReport).toMatchObject({ fastPath: false, promptReuse: true });
    expect(engine.info.loadReport!.fastPathNote).toMatch(/the GPU device was lost while the all-positions path was checked/);
    const r = await engine.generate([1, 2, 3], { temperature: 1, topP: 1, maxTokens: 4, seed: 1 });
    expect(r.ids.length).toBeGreaterThan(0);
    await settle();
    expect(mlc.gpu!.device.destroyed).toBe(false);
  });

  it('a device lost between reload and the check fails the load with DeviceLostError', async () => {
    const capture = new LogitCapture();
    const mlc = new FakeMlcEngine({ verify: true }, capture);
    await mlc.reload(MODEL);
    mlc.gpu!.device.destroy();
    await settle();
    await expect(startWebLlmEngine(mlc, MODEL, capture)).rejects.toMatchObject({ name: 'DeviceLostError' });
  });

  it('a device lost during the check when there is no fast path to drop fails the load with DeviceLostError', async () => {
    class Losing extends LogitCapture {
      calls = 0;
      onLose: () => void = () => {};
      override processLogits(l: Float32Array): Float32Array {
        if (++this.calls === 3) this.onLose();
        return super.processLogits(l);
      }
    }
    const capture = new Losing();
    const mlc = new FakeMlcEngine({ verify: false, contextWindowTokens: 512 }, capture);
    await mlc.reload(MODEL);
    capture.onLose = () => mlc.gpu!.device.destroy();
    await expect(startWebLlmEngine(mlc, MODEL, capture)).rejects.toMatchObject({ name: 'DeviceLostError' });
    expect(mlc.reloads).toBe(1);
  });
});

describe('device loss after loading', () => {
  it('generate, score and the check all end in DeviceLostError', async () => {
    const { engine, mlc } = await stack({ contextWindowTokens: 512 });
    await engine.verifyFastPath();
    mlc.gpu!.device.destroy();
    await settle();
    await expect(engine.generate([1, 2], { temperature: 1, topP: 1, maxTokens: 3, seed: 1 })).rejects.toMatchObject({ name: 'DeviceLostError' });
    await expect(engine.score([1, 2], [[3, 4]])).rejects.toMatchObject({ name: 'DeviceLostError' });
    await expect(engine.verifyFastPath()).rejects.toMatchObject({ name: 'DeviceLostError' });
  });

  it('a loss in the middle of an all-positions score is DeviceLostError, not a failed read-back', async () => {
    const { engine, mlc } = await stack({ contextWindowTokens: 512 });
    await engine.verifyFastPath();
    const pipeline = mlc.pipeline!;
    // Lose the device while the next read-back is in flight: the read-back rejects before
    // `device.lost` resolves (the order that hides the loss from a plain catch).
    const device = mlc.gpu!.device;
    const sync = pipeline.device.sync;
    (pipeline.device as { sync: () => Promise<void> }).sync = () => {
      const pending = sync();
      device.destroy();
      return pending;
    };
    await expect(engine.score([1, 2], [[3, 4, 5, 6]])).rejects.toMatchObject({ name: 'DeviceLostError' });
  });
});
