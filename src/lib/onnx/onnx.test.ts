import { describe, expect, it } from 'vitest';
import { deleteCachedOnnxModel, listCachedOnnxModels, parseCachedUrl } from './cache';
import { CPU_DEFAULT_REPO, GPU_DEFAULT_REPO, ONNX_CATALOG, cpuOfferText, onnxOptions } from './catalog';
import { chooseDtype, dtypeFile, dtypeOfFile } from './dtype';
import { hubReader, planOnnxLoad } from './plan';

describe('dtypes', () => {
  it('maps dtypes to transformers.js file names and back', () => {
    expect(dtypeFile('fp32')).toBe('onnx/model.onnx');
    expect(dtypeFile('q8')).toBe('onnx/model_quantized.onnx');
    expect(dtypeFile('q4f16')).toBe('onnx/model_q4f16.onnx');
    expect(dtypeOfFile('onnx/model_q4.onnx')).toBe('q4');
    expect(dtypeOfFile('onnx/model.onnx')).toBe('fp32');
    expect(dtypeOfFile('onnx/decoder_model_merged.onnx')).toBeNull();
  });

  it('chooses from the device and shader-f16, honouring the model config and refusing what cannot run', () => {
    const all = ['fp32', 'fp16', 'q8', 'q4', 'q4f16'] as const;
    const base = { available: [...all], model: 'm' };
    expect(chooseDtype({ ...base, device: 'webgpu', shaderF16: true })).toBe('q4f16');
    expect(chooseDtype({ ...base, device: 'webgpu', shaderF16: false })).toBe('q4');
    expect(chooseDtype({ ...base, device: 'wasm', shaderF16: false })).toBe('q4');
    expect(chooseDtype({ available: ['fp32', 'q8'], model: 'm', device: 'wasm', shaderF16: false, configDtype: 'fp32' })).toBe('fp32');
    expect(() => chooseDtype({ ...base, device: 'webgpu', shaderF16: false, requested: 'fp16' })).toThrow(/shader-f16/);
    expect(() => chooseDtype({ available: ['fp32'], model: 'm', device: 'wasm', shaderF16: false, requested: 'q4' })).toThrow(/Available: fp32/);
  });
});

describe('catalog', () => {
  it('offers every model as onnx:<repo> with dtype, an estimated size and memory in the label', () => {
    const cpu = onnxOptions('wasm', false);
    expect(cpu.map((o) => o.value)).toEqual(ONNX_CATALOG.map((e) => `onnx:${e.repo}`));
    expect(cpu.every((o) => o.dtype === 'q4' && o.downloadIsEstimate)).toBe(true);
    expect(cpu.find((o) => o.isDefault)?.repo).toBe(CPU_DEFAULT_REPO);
    expect(cpu[0].label).toMatch(/q4 · about 786 MB \(estimate\) · memory about 943 MB/);
    const gpu = onnxOptions('webgpu', true);
    expect(gpu.find((o) => o.isDefault)?.repo).toBe(GPU_DEFAULT_REPO);
    expect(gpu.find((o) => o.repo === GPU_DEFAULT_REPO)?.dtype).toBe('q4f16');
    expect(cpuOfferText()).toBe('This browser runs models on the CPU: Qwen2.5 0.5B Instruct (q4), about 786 MB to download once.');
  });
});

/** A fake hub that answers like huggingface.co's resolve URLs: Range requests get 206 with Content-Range. */
function fakeHub(files: Record<string, string | number>, log: string[]): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    log.push(url);
    const m = /^https:\/\/hub\.test\/([^/]+\/[^/]+)\/resolve\/main\/(.+)$/.exec(url);
    const body = m ? files[m[2]] : undefined;
    if (body === undefined) return new Response('Entry not found', { status: 404 });
    const size = typeof body === 'number' ? body : body.length;
    const range = new Headers(init?.headers).get('Range');
    if (range) return new Response('x', { status: 206, headers: { 'content-range': `bytes 0-0/${size}`, 'content-length': '1' } });
    return new Response(typeof body === 'number' ? 'x'.repeat(8) : body, { status: 200 });
  }) as typeof fetch;
}

describe('planning a hub load', () => {
  const config = JSON.stringify({ model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], vocab_size: 151936 });
  it('reads a file size from a one-byte Range answer (206, Content-Range) and a 404 as missing', async () => {
    const log: string[] = [];
    const reader = hubReader('org/model', 'main', 'https://hub.test/', fakeHub({ 'config.json': config, 'tokenizer.json': 5000, 'tokenizer_config.json': 300, 'onnx/model_q4.onnx': 786_000_000 }, log));
    expect(await reader.size('onnx/model_q4.onnx')).toBe(786_000_000);
    expect(await reader.size('onnx/model_q4f16.onnx')).toBeUndefined();
  });

  it('refuses a gated repository and a model too large for the device, by name, before any weights are fetched', async () => {
    const log: string[] = [];
    const gated = hubReader('org/gated', 'main', 'https://hub.test/', (async () => new Response('', { status: 401 })) as typeof fetch);
    await expect(gated.text('config.json')).rejects.toMatchObject({ name: 'ModelDownloadError', message: expect.stringMatching(/gated/) });
    // planOnnxLoad on a files source (same checks as the hub) with a budget below the weights.
    const files = { 'config.json': new Blob([config]), 'tokenizer.json': new Blob(['{}']), 'onnx/model_q4.onnx': new Blob([new Uint8Array(1000)]) };
    await expect(planOnnxLoad({ kind: 'files', name: 'm', files }, { memoryBudgetBytes: 999 })).rejects.toMatchObject({ name: 'ModelTooLargeError' });
    const plan = await planOnnxLoad({ kind: 'files', name: 'm', files }, { device: 'wasm' });
    expect(plan.dtype).toBe('q4');
    expect([...plan.files.keys()]).toEqual(['config.json', 'tokenizer.json', 'onnx/model_q4.onnx']);
    expect(log).toEqual([]);
  });
});

describe('stored ONNX models (transformers-cache)', () => {
  function fakeCaches(urls: Record<string, number>) {
    const entries = new Map(Object.entries(urls));
    return {
      has: async (n: string) => n === 'transformers-cache',
      open: async () => ({
        keys: async () => [...entries.keys()].map((url) => ({ url })),
        match: async (req: { url: string } | string) => {
          const len = entries.get(typeof req === 'string' ? req : req.url);
          return len === undefined ? undefined : new Response('', { headers: { 'content-length': String(len) } });
        },
        delete: async (req: { url: string } | string) => entries.delete(typeof req === 'string' ? req : req.url),
      }),
    };
  }

  it('groups the cache by repository, with bytes and whether weights are there; deletes one repository', async () => {
    expect(parseCachedUrl('https://huggingface.co/onnx-community/Qwen2.5-0.5B-Instruct/resolve/main/onnx/model_q4.onnx')).toEqual({
      repo: 'onnx-community/Qwen2.5-0.5B-Instruct',
      file: 'onnx/model_q4.onnx',
    });
    const caches = fakeCaches({
      'https://huggingface.co/a/b/resolve/main/config.json': 10,
      'https://huggingface.co/a/b/resolve/main/onnx/model_q4.onnx': 1000,
      'https://huggingface.co/c/d/resolve/main/tokenizer.json': 50,
      'https://elsewhere.test/x': 7,
    });
    expect(await listCachedOnnxModels(caches)).toEqual([
      { repo: 'a/b', bytes: 1010, files: 2, hasWeights: true },
      { repo: 'c/d', bytes: 50, files: 1, hasWeights: false },
    ]);
    expect(await deleteCachedOnnxModel('a/b', caches)).toBe(2);
    expect((await listCachedOnnxModels(caches)).map((m) => m.repo)).toEqual(['c/d']);
  });
});
