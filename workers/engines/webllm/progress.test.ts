import { describe, expect, it } from 'vitest';
import { LoadProgressMapper } from './progress';
import { mapLoadError } from './load-errors';

describe('LoadProgressMapper', () => {
  it('maps restarting phases onto one monotone progress with MB and time left', () => {
    let nowMs = 0;
    const m = new LoadProgressMapper('M', () => nowMs);
    expect(m.start()).toMatchObject({ phase: 'fetching', fraction: 0 });
    const s = m.map({ progress: 0, timeElapsed: 0, text: 'Start to fetch params' });
    expect(s.fraction).toBeCloseTo(0.02);
    nowMs = 10_000;
    const f = m.map({ progress: 0.25, timeElapsed: 10, text: 'Fetching param cache[5/20]: 250MB fetched. 25% completed, 10 secs elapsed. It can take a while' });
    expect(f.phase).toBe('fetching');
    expect(f.loadedBytes).toBe(250 * 2 ** 20);
    expect(f.totalBytes).toBe(1000 * 2 ** 20);
    expect(f.etaSeconds).toBeCloseTo(30);
    expect(f.text).toMatch(/262 MB of 1049 MB, about 30 s left/);
    expect(f.fraction).toBeCloseTo(0.02 + 0.78 * 0.25);
    const l = m.map({ progress: 0.5, timeElapsed: 40, text: 'Loading model from cache[10/20]: 500MB loaded. 50% completed, 40 secs elapsed.' });
    expect(l.phase).toBe('parsing');
    expect(l.fraction).toBeCloseTo(0.86);
    const c = m.map({ progress: 0.5, timeElapsed: 41, text: 'Loading GPU shader modules[5/10]: 50% completed, 41 secs elapsed.' });
    expect(c.phase).toBe('compiling');
    expect(c.fraction).toBeGreaterThan(l.fraction!);
    expect(m.map({ progress: 1, timeElapsed: 42, text: 'Finish loading on WebGPU - google' }).fraction).toBeCloseTo(0.99);
  });

  it('spreads the GPU upload over most of the bar when the weights are cached', () => {
    const m = new LoadProgressMapper('M', () => 0);
    m.map({ progress: 0, timeElapsed: 0, text: 'Start to fetch params' });
    const l = m.map({ progress: 0.5, timeElapsed: 1, text: 'Loading model from cache[1/2]: 10MB loaded. 50% completed, 1 secs elapsed.' });
    expect(l.fraction).toBeCloseTo(0.02 + 0.83 * 0.5);
  });
});

describe('mapLoadError', () => {
  it('names an offline download clearly', () => {
    const e = mapLoadError(new TypeError('Failed to fetch'), 'Qwen2.5-1.5B-Instruct-q4f32_1-MLC');
    expect(e.name).toBe('ModelDownloadError');
    expect(e.message).toMatch(/offline/);
    expect(e.message).toMatch(/Qwen2.5-1.5B/);
  });

  it('names a quota error', () => {
    const q = Object.assign(new Error('The quota has been exceeded.'), { name: 'QuotaExceededError' });
    expect(mapLoadError(q, 'M')).toMatchObject({ name: 'StorageQuotaError' });
  });

  it('maps web-llm GPU errors', () => {
    expect(mapLoadError(Object.assign(new Error('x'), { name: 'ShaderF16SupportError' }), 'M')).toMatchObject({ name: 'WebGpuUnavailableError', reason: 'shader-f16-missing' });
    expect(mapLoadError(new Error('Unable to find a compatible GPU. This issue'), 'M')).toMatchObject({ name: 'WebGpuUnavailableError' });
    expect(mapLoadError(Object.assign(new Error('lost'), { name: 'DeviceLostError' }), 'M')).toMatchObject({ name: 'DeviceLostError' });
    // A read-back on a destroyed device (Chromium's wording) during the weight upload.
    expect(mapLoadError(Object.assign(new Error("Failed to execute 'mapAsync' on 'GPUBuffer': Device is lost."), { name: 'OperationError' }), 'M')).toMatchObject({ name: 'DeviceLostError' });
    expect(mapLoadError(Object.assign(new Error('stop'), { name: 'AbortError' }), 'M')).toMatchObject({ name: 'InterruptedError' });
  });

  it('keeps unknown errors named', () => {
    const e = mapLoadError(new Error('weird'), 'M');
    expect(e.name).toBe('ModelLoadError');
    expect(e.message).toBe('Could not load M: weird');
  });
});
