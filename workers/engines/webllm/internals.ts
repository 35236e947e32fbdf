/**
 * Builds the `WebLlmBackend` from a loaded MLCEngine (web-llm 0.2.86).
 *
 * Public API used: `forwardTokensAndSample`, `resetChat`, `unload`.
 * Private pipeline fields used (TypeScript-private, reachable at run time; names checked in
 * 0.2.86's lib/index.js and lib/llm_chat.d.ts):
 * - required: `loadedModelIdToPipeline`, `loadedModelIdToChatConfig`, `pipeline.tokenizer`
 *   (web-tokenizers: `encode` adds no special tokens, `decode`, `getVocabSize`),
 *   `pipeline.filledKVCacheLength`, `pipeline.contextWindowSize`, `pipeline.prefillChunkSize`.
 *   web-llm offers no public tokenizer, and we need ids, not text.
 * - optional, feature-detected (only for single-state KV-cache models without sliding window or
 *   artifact manifest): the TVM global `vm.builtin.kv_state_popn` for KV roll-back (prompt reuse),
 *   and the model library's `batch_verify` (logits at every position) for the fast scoring path.
 *   Both are checked against forced decoding on the model before use (WebLlmEngine.verifyFastPath).
 */
import type { WebLlmBackend } from './backend';
import type { ConvTemplateLike } from './chat-template';


export interface MlcEngineSlice {
  forwardTokensAndSample(inputIds: number[], isPrefill: boolean, modelId?: string): Promise<number>;
  resetChat(keepStats?: boolean, modelId?: string): Promise<void>;
  unload(): Promise<void>;
}

export class WebLlmInternalsError extends Error {
  constructor(detail: string) {
    super(`This version of web-llm does not expose what the compressor needs (${detail}).`);
    this.name = 'WebLlmInternalsError';
  }
}

export interface InternalsReport {
  popKv: string;
  verify: string;
}

export function backendFromMlcEngine(engine: MlcEngineSlice, modelId: string): { backend: WebLlmBackend; report: InternalsReport } {
  const e = engine as any;
  const pipeline = e.loadedModelIdToPipeline?.get?.(modelId);
  if (!pipeline) throw new WebLlmInternalsError('loadedModelIdToPipeline');
  const chatConfig = e.loadedModelIdToChatConfig?.get?.(modelId) ?? pipeline.config;
  if (!chatConfig?.conv_template) throw new WebLlmInternalsError('the chat config');
  const tokenizer = pipeline.tokenizer;
  if (!tokenizer || typeof tokenizer.encode !== 'function' || typeof tokenizer.decode !== 'function') throw new WebLlmInternalsError('pipeline.tokenizer');
  if (typeof pipeline.filledKVCacheLength !== 'number') throw new WebLlmInternalsError('pipeline.filledKVCacheLength');
  const conv: ConvTemplateLike = { ...chatConfig.conv_template, ...(chatConfig.conv_config ?? {}) };
  const contextWindowTokens: number =
    typeof pipeline.contextWindowSize === 'number' && pipeline.contextWindowSize > 0 ? pipeline.contextWindowSize : chatConfig.context_window_size;
  const report: InternalsReport = { popKv: 'not tried', verify: 'not tried' };

  const backend: WebLlmBackend = {
    modelId,
    contextWindowTokens,
    conv,
    vocabSize: typeof tokenizer.getVocabSize === 'function' ? tokenizer.getVocabSize() : chatConfig.vocab_size,
    prefillChunkTokens: typeof pipeline.prefillChunkSize === 'number' ? pipeline.prefillChunkSize : 1,
    encode: (text) => Array.from(tokenizer.encode(text) as Int32Array),
    decode: (ids) => tokenizer.decode(Int32Array.from(ids)) as string,
    forwardTokensAndSample: (ids, isPrefill) => engine.forwardTokensAndSample(ids, isPrefill, modelId),
    resetChat: () => engine.resetChat(false, modelId),
    kvLength: () => pipeline.filledKVCacheLength as number,
    unload: () => engine.unload(),
  };

  const abi = pipeline.resolvedModelABI;
  const plainKvCache =
    pipeline.artifact === undefined &&
    pipeline.kvCache !== undefined &&
    pipeline.rnnState === undefined &&
    (abi === undefined || (abi.needsKVCache && !abi.needsRNNState && abi.prefillABI === 'single')) &&
    (pipeline.slidingWindowSize === undefined || pipeline.slidingWindowSize === -1);
  if (!plainKvCache) {
    report.popKv = report.verify = 'model state is not a plain KV cache (hybrid, sliding window or manifest model)';
    return { backend, report };
  }
  const tvm = pipeline.tvm;

  try {
    const popn = tvm.detachFromCurrentScope(tvm.getGlobalFunc('vm.builtin.kv_state_popn'));
    backend.popKv = (n: number) => {
      if (n <= 0) return;
      if (n > pipeline.filledKVCacheLength) throw new Error(`cannot drop ${n} of ${pipeline.filledKVCacheLength} cached tokens`);
      tvm.beginScope();
      try {
        popn(pipeline.kvCache, tvm.scalar(0, 'int64'), tvm.scalar(n, 'int32'));
      } finally {
        tvm.endScope();
      }
      pipeline.filledKVCacheLength -= n;
    };
    report.popKv = 'vm.builtin.kv_state_popn found';
  } catch (err) {
    report.popKv = `no KV roll-back (${err instanceof Error ? err.message : String(err)})`;
  }

  const needed = ['getTokensEmbeddings', 'getActiveKVStates', 'fKVCacheBeginForward', 'fKVCacheEndForward'];
  const missing = needed.filter((k) => typeof pipeline[k] !== 'function');
  let verifyFn: any = null;
  if (missing.length === 0 && pipeline.vm && pipeline.params && pipeline.device) {
    try {
      tvm.beginScope();
      verifyFn = tvm.detachFromCurrentScope(pipeline.vm.getFunction('batch_verify'));
    } catch (err) {
      report.verify = `no batch_verify (${err instanceof Error ? err.message : String(err)})`;
    } finally {
      tvm.endScope();
    }
  } else {
    report.verify = `pipeline lacks ${missing.join(', ') || 'vm/params/device'}`;
  }
  if (verifyFn) {
    report.verify = 'batch_verify found';
    backend.verifyAllPositions = async (ids: number[]) => {
      if (ids.length === 0 || ids.length > pipeline.prefillChunkSize) throw new Error(`verify takes 1..${pipeline.prefillChunkSize} tokens`);
      tvm.beginScope();
      let host: any;
      let logits: any;
      try {
        const emb = pipeline.getTokensEmbeddings(ids);
        const states = pipeline.getActiveKVStates();
        for (const s of states) pipeline.fKVCacheBeginForward(s, tvm.makeShapeTuple([0]), tvm.makeShapeTuple([ids.length]));
        const ret = verifyFn(emb.view([1, ...emb.shape]), pipeline.kvCache, pipeline.params);
        for (let i = states.length - 1; i >= 0; i--) pipeline.fKVCacheEndForward(states[i]);
        pipeline.filledKVCacheLength += ids.length;
        logits = tvm.detachFromCurrentScope(ret.get(0));
        host = tvm.detachFromCurrentScope(tvm.empty(logits.shape, logits.dtype, tvm.cpu()));
        host.copyFrom(logits);
      } finally {
        tvm.endScope();
      }
      try {
        await pipeline.device.sync();
        const shape = logits.shape as number[];
        const rowLength = shape[shape.length - 1];
        const arr = host.toArray() as ArrayLike<number>;
        const rows = arr instanceof Float32Array ? arr.slice() : Float32Array.from(arr);
        if (rows.length !== ids.length * rowLength) throw new Error(`batch_verify returned ${rows.length} values for ${ids.length} positions`);
        return { rows, rowLength };
      } finally {
        host.dispose();
        logits.dispose();
      }
    };
  }
  return { backend, report };
}
