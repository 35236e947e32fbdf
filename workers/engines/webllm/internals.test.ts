import { describe, expect, it } from 'vitest';
import { CHATML } from './fake-backend';
import { backendFromMlcEngine, type MlcEngineSlice } from './internals';

/** A stand-in for web-llm's private pipeline and tvm objects, recording what is called. */
function fakeMlc(opts: { popn?: boolean; verify?: boolean; hybrid?: boolean } = {}) {
  const calls: string[] = [];
  const V = 3;
  const tensor = (shape: number[], data?: Float32Array) => ({
    shape,
    dtype: 'float32',
    data,
    view: (s: number[]) => tensor(s, data),
    copyFrom(src: { data?: Float32Array }) {
      this.data = src.data;
    },
    toArray() {
      return this.data;
    },
    get(i: number) {
      return i === 0 ? this : undefined;
    },
    dispose: () => calls.push('dispose'),
  });
  const tvm = {
    beginScope: () => undefined,
    endScope: () => undefined,
    detachFromCurrentScope: <T>(x: T) => x,
    scalar: (v: number, dtype: string) => ({ v, dtype }),
    makeShapeTuple: (s: number[]) => s,
    cpu: () => 'cpu',
    empty: (shape: number[]) => tensor(shape),
    getGlobalFunc: (name: string) => {
      if (name === 'vm.builtin.kv_state_popn' && opts.popn) return (_kv: unknown, seq: { v: number }, n: { v: number }) => calls.push(`popn ${seq.v} ${n.v}`);
      throw new Error(`Cannot find global function ${name}`);
    },
  };
  const pipeline = {
    tvm,
    tokenizer: { encode: (t: string) => Int32Array.from([...t].map((c) => c.charCodeAt(0) % 7)), decode: (ids: Int32Array) => `<${ids.length}>`, getVocabSize: () => 7 },
    filledKVCacheLength: 0,
    contextWindowSize: 4096,
    prefillChunkSize: 4,
    slidingWindowSize: -1,
    kvCache: {},
    rnnState: opts.hybrid ? {} : undefined,
    artifact: undefined,
    resolvedModelABI: { needsKVCache: true, needsRNNState: !!opts.hybrid, prefillABI: opts.hybrid ? 'batch' : 'single' },
    params: {},
    device: { sync: async () => calls.push('sync') },
    vm: {
      getFunction: (name: string) => {
        if (name === 'batch_verify' && opts.verify) {
          return (emb: { shape: number[] }) => {
            const n = emb.shape[1];
            return tensor([1, n, V], Float32Array.from({ length: n * V }, (_, i) => i));
          };
        }
        throw new Error(`no ${name}`);
      },
    },
    getTokensEmbeddings: (ids: number[]) => tensor([ids.length, 8]),
    getActiveKVStates: () => [pipeline.kvCache],
    fKVCacheBeginForward: (_s: unknown, _seq: unknown, len: number[]) => calls.push(`begin ${len[0]}`),
    fKVCacheEndForward: () => calls.push('end'),
  };
  const engine: MlcEngineSlice & Record<string, unknown> = {
    loadedModelIdToPipeline: new Map([['M', pipeline]]),
    loadedModelIdToChatConfig: new Map([['M', { conv_template: CHATML, conv_config: { system_message: 'S' }, context_window_size: 4096 }]]),
    forwardTokensAndSample: async (ids: number[], isPrefill: boolean, modelId?: string) => (calls.push(`forward ${ids.length} ${isPrefill} ${modelId}`), 0),
    resetChat: async (_k?: boolean, modelId?: string) => void calls.push(`reset ${modelId}`),
    unload: async () => void calls.push('unload'),
  };
  return { engine, pipeline, calls };
}

describe('backendFromMlcEngine', () => {
  it('reads the tokenizer, chat config and window, and forwards to the public API with the model id', async () => {
    const { engine, calls } = fakeMlc();
    const { backend, report } = backendFromMlcEngine(engine, 'M');
    expect(backend.conv.system_message).toBe('S'); // conv_config overrides conv_template
    expect(backend.contextWindowTokens).toBe(4096);
    expect(backend.vocabSize).toBe(7);
    expect(backend.encode('ab')).toEqual([97 % 7, 98 % 7]);
    expect(backend.decode([1, 2, 3])).toBe('<3>');
    await backend.forwardTokensAndSample([1, 2], true);
    await backend.resetChat();
    expect(calls).toEqual(['forward 2 true M', 'reset M']);
    expect(backend.popKv).toBeUndefined();
    expect(backend.verifyAllPositions).toBeUndefined();
    expect(report.popKv).toMatch(/no KV roll-back/);
  });

  it('finds KV roll-back and the all-positions function when present', async () => {
    const { engine, pipeline, calls } = fakeMlc({ popn: true, verify: true });
    const { backend } = backendFromMlcEngine(engine, 'M');
    pipeline.filledKVCacheLength = 10;
    const { rows, rowLength } = await backend.verifyAllPositions!([5, 6]);
    expect(rowLength).toBe(3);
    expect(Array.from(rows)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(pipeline.filledKVCacheLength).toBe(12);
    backend.popKv!(2);
    expect(pipeline.filledKVCacheLength).toBe(10);
    expect(calls).toContain('begin 2');
    expect(calls).toContain('popn 0 2');
    expect(() => backend.popKv!(11)).toThrow();
    await expect(backend.verifyAllPositions!([1, 2, 3, 4, 5])).rejects.toThrow(/1\.\.4/);
  });

  it('offers neither on hybrid models', () => {
    const { engine } = fakeMlc({ popn: true, verify: true, hybrid: true });
    const { backend, report } = backendFromMlcEngine(engine, 'M');
    expect(backend.popKv).toBeUndefined();
    expect(backend.verifyAllPositions).toBeUndefined();
    expect(report.verify).toMatch(/not a plain KV cache/);
  });

  it('fails clearly when the private pipeline is missing', () => {
    const engine = { forwardTokensAndSample: async () => 0, resetChat: async () => undefined, unload: async () => undefined };
    expect(() => backendFromMlcEngine(engine, 'M')).toThrowError(expect.objectContaining({ name: 'WebLlmInternalsError' }));
  });
});
