/**
 * internals.ts against the honest fake of web-llm 0.2.86 (fake-mlc.ts): its tvmjs scope rules,
 * scalar arguments, device limits and asynchronous device loss.
 */
import { describe, expect, it } from 'vitest';
import { FAKE_ROW_LENGTH } from './fake-backend';
import { FakeMlcEngine, type FakeMlcOptions } from './fake-mlc';
import { backendFromMlcEngine, planVerifyRows, VERIFY_BYTE_BUDGET } from './internals';

const MODEL = 'Fake-Instruct-q4f16_1-MLC';

async function loaded(opts: FakeMlcOptions = {}) {
  const mlc = new FakeMlcEngine({ verify: true, ...opts });
  await mlc.reload(MODEL);
  return mlc;
}

const tick = () => new Promise((r) => setTimeout(r, 10));

describe('backendFromMlcEngine', () => {
  it('reads the tokenizer, chat config and window, and forwards to the public API', async () => {
    const mlc = await loaded();
    const { backend } = backendFromMlcEngine(mlc, MODEL);
    expect(backend.contextWindowTokens).toBe(256);
    expect(backend.vocabSize).toBe(16);
    expect(backend.encode('ab')).toEqual([0, 1]);
    expect(backend.decode([2, 3])).toBe('cd');
    await backend.forwardTokensAndSample([1, 2], true);
    expect(backend.kvLength()).toBe(2);
    await backend.resetChat();
    expect(backend.kvLength()).toBe(0);
  });

  it('the fake keeps the 0.2.86 rule: getGlobalFunc outside a scope throws', async () => {
    const mlc = await loaded();
    const tvm = mlc.pipeline!.tvm;
    expect(() => tvm.getGlobalFunc('vm.builtin.kv_state_popn')).toThrow('Must call beginScope to use functions that returns TVM objects');
    expect(() => tvm.detachFromCurrentScope({})).toThrow(TypeError);
    expect(() => tvm.endScope()).toThrow('tvm.endScope called when the stack is empty.');
    tvm.beginScope();
    expect(() => tvm.getGlobalFunc('vm.builtin.nope')).toThrow('Cannot find global function vm.builtin.nope');
    const f = tvm.getGlobalFunc('vm.builtin.kv_state_popn');
    tvm.endScope();
    expect(() => f(mlc.pipeline!.kvCache, tvm.scalar(0, 'int64'), tvm.scalar(0, 'int32'))).toThrow(/disposed/);
  });

  it('looks kv_state_popn up inside a scope and pops with int64/int32 scalars, leaving no scope open', async () => {
    const mlc = await loaded();
    const { backend, report } = backendFromMlcEngine(mlc, MODEL);
    expect(report.popKv).toBe('KV roll-back (vm.builtin.kv_state_popn)');
    await backend.forwardTokensAndSample([1, 2, 3, 4, 5], true);
    backend.popKv!(3);
    expect(mlc.pipeline!.kvCache.ids).toEqual([1, 2]);
    expect(backend.kvLength()).toBe(2);
    expect(() => backend.popKv!(3)).toThrow(/cannot drop 3 of 2/);
    expect(mlc.pipeline!.tvm.scopeDepth).toBe(0);
  });

  it('says why there is no roll-back when the runtime lacks the global', async () => {
    const mlc = await loaded({ popn: false });
    const { backend, report } = backendFromMlcEngine(mlc, MODEL);
    expect(backend.popKv).toBeUndefined();
    expect(report.popKv).toBe('no KV roll-back (Cannot find global function vm.builtin.kv_state_popn)');
    expect(mlc.pipeline!.tvm.scopeDepth).toBe(0);
  });

  it('reads all-positions rows with one host copy, disposes its tensors and appends to the cache', async () => {
    const mlc = await loaded({ kernelNoise: 0 });
    const { backend, report } = backendFromMlcEngine(mlc, MODEL);
    expect(report.verify).toMatch(/^batch_verify, up to 16 positions per call/);
    expect(backend.verifyMaxRows).toBe(16);
    await backend.forwardTokensAndSample([1, 2, 3], true);
    const copiesBefore = mlc.pipeline!.tvm.hostCopies;
    const { rows, rowLength } = await backend.verifyAllPositions!([4, 5, 6]);
    expect(mlc.pipeline!.tvm.hostCopies - copiesBefore).toBe(1);
    expect(rowLength).toBe(FAKE_ROW_LENGTH);
    expect(rows.length).toBe(3 * FAKE_ROW_LENGTH);
    expect(mlc.pipeline!.filledKVCacheLength).toBe(6);
    expect(mlc.pipeline!.kvCache.ids).toEqual([1, 2, 3, 4, 5, 6]);
    expect(mlc.pipeline!.kvCache.pending).toBeNull();
    expect(mlc.pipeline!.tvm.scopeDepth).toBe(0);
    await expect(backend.verifyAllPositions!(Array(17).fill(1))).rejects.toThrow(/1\.\.16/);
  });

  it('does not offer the all-positions path when a chunk of logits exceeds the device limits', async () => {
    const mlc = await loaded({ maxBufferSize: 1000 });
    const { backend, report } = backendFromMlcEngine(mlc, MODEL);
    expect(backend.verifyAllPositions).toBeUndefined();
    expect(report.verify).toMatch(/batch_verify not used: all-positions logits for one prefill chunk need .* \(16 positions x 20 x 4 bytes\), more than this GPU allows/);
    expect(mlc.gpu!.device.failedBuffers).toEqual([]);
  });

  it('maps a device lost after loading to DeviceLostError on every call', async () => {
    const mlc = await loaded();
    const { backend } = backendFromMlcEngine(mlc, MODEL);
    expect(backend.deviceLost!()).toBeNull();
    mlc.gpu!.device.destroy();
    await tick();
    expect(backend.deviceLost!()).toMatch(/the GPU device was lost/);
    expect(mlc.loadedModelIdToPipeline.size).toBe(0); // web-llm unloaded it
    await expect(backend.forwardTokensAndSample([1], false)).rejects.toMatchObject({ name: 'DeviceLostError' });
    await expect(backend.resetChat()).rejects.toMatchObject({ name: 'DeviceLostError' });
    await expect(backend.verifyAllPositions!([1])).rejects.toMatchObject({ name: 'DeviceLostError' });
    expect(() => backend.popKv!(1)).toThrowError(expect.objectContaining({ name: 'DeviceLostError' }));
  });

  it('an unload of our own is not a device loss', async () => {
    const mlc = await loaded();
    const { backend } = backendFromMlcEngine(mlc, MODEL);
    await backend.unload();
    expect(backend.deviceLost!()).toBeNull();
  });

  it('offers neither on hybrid models', async () => {
    const mlc = await loaded({ hybrid: true });
    const { backend, report } = backendFromMlcEngine(mlc, MODEL);
    expect(backend.popKv).toBeUndefined();
    expect(backend.verifyAllPositions).toBeUndefined();
    expect(report.verify).toMatch(/not a plain KV cache/);
  });

  it('can be told to leave the all-positions path off', async () => {
    const mlc = await loaded();
    const { backend, report } = backendFromMlcEngine(mlc, MODEL, { allowVerify: false, verifyOffReason: 'lost last time' });
    expect(backend.verifyAllPositions).toBeUndefined();
    expect(report.verify).toBe('lost last time');
    expect(backend.popKv).toBeDefined();
  });

  it('fails clearly when the private pipeline is missing', () => {
    const engine = { forwardTokensAndSample: async () => 0, resetChat: async () => undefined, unload: async () => undefined };
    expect(() => backendFromMlcEngine(engine, 'M')).toThrowError(expect.objectContaining({ name: 'WebLlmInternalsError' }));
  });
});

describe('planVerifyRows', () => {
  const qwen = { prefillChunkTokens: 1024, rowLength: 151_936 };
  it('Qwen2.5 with the 1 GiB limits web-llm asks for: 110 rows per call under the 64 MiB budget', () => {
    const plan = planVerifyRows({ ...qwen, maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30 });
    expect(plan.maxRows).toBe(Math.floor(VERIFY_BYTE_BUDGET / (151_936 * 4)));
    expect(plan.maxRows).toBe(110);
  });
  it('Qwen2.5 on the 128 MiB binding fallback: off (a 1,024-row chunk needs 594 MiB)', () => {
    const plan = planVerifyRows({ ...qwen, maxBufferSize: 2 ** 28, maxStorageBufferBindingSize: 2 ** 27 });
    expect(plan.maxRows).toBe(0);
    expect(plan.reason).toMatch(/need 594 MB .* \(128 MB\)/);
  });
  it('a small model under every limit: the whole chunk', () => {
    expect(planVerifyRows({ prefillChunkTokens: 16, rowLength: 20, maxBufferSize: 1e6, maxStorageBufferBindingSize: 1e6 }).maxRows).toBe(16);
  });
  it('unknown limits: off', () => {
    expect(planVerifyRows({ prefillChunkTokens: 16, rowLength: 20, maxBufferSize: 0, maxStorageBufferBindingSize: 0 }).maxRows).toBe(0);
  });
});
