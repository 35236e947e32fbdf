/**
 * Builds the `WebLlmBackend` from a loaded MLCEngine (web-llm 0.2.86).
 *
 * Public API used: `forwardTokensAndSample`, `resetChat`, `unload`. Everything else is private to
 * web-llm (TypeScript-private, reachable at run time). Each member below was read again in the
 * installed node_modules/@mlc-ai/web-llm/lib/index.js (0.2.86; line numbers are that file's, the
 * tvmjs runtime is bundled in it):
 *
 * | member | where (0.2.86 lib/index.js) | what it is / what we rely on |
 * | --- | --- | --- |
 * | `engine.loadedModelIdToPipeline` | MLCEngine, filled at the end of `reloadInternal` (l.18328), cleared by `unload` (l.18356) | Map model id -> LLMChatPipeline. Empty again after web-llm unloads itself on a device loss. |
 * | `engine.loadedModelIdToChatConfig` | MLCEngine, set in `reloadInternal` (l.18244) | Map model id -> ChatConfig (`conv_template`, `conv_config`, `context_window_size`, `vocab_size`). |
 * | `pipeline.tokenizer` | LLMChatPipeline ctor (l.11712) | web-tokenizers: `encode` (no special tokens added), `decode`, `getVocabSize`. |
 * | `pipeline.config` | ctor (l.11713) | the ChatConfig again (fallback for the map above). |
 * | `pipeline.filledKVCacheLength` | ctor (l.11647), `+=` in `embedAndForward` (l.13330) | tokens in the KV cache; we keep it right after our own forwards and roll-backs. |
 * | `pipeline.contextWindowSize`, `slidingWindowSize`, `prefillChunkSize` | ctor (defaults l.11650-11653, set l.11874-11881) | window; -1 = no sliding window; `prefill_chunk_size` from the library's metadata (max tokens per forward). |
 * | `pipeline.kvCache`, `rnnState`, `artifact`, `resolvedModelABI` | ctor (l.11639-11640; ABI l.11801/11813; l.11930, 11938) | the model's states: a plain paged KV cache only when `artifact` and `rnnState` are undefined and the ABI is `single` with `needsKVCache` and not `needsRNNState`. |
 * | `pipeline.tvm` | ctor (l.11711) | the tvmjs `Instance` (below). |
 * | `pipeline.vm.getFunction(name)` | ctor (l.11746); VirtualMachine (l.7700-7722) | a function of the model library; throws for a name it does not export. Its result is attached to the current scope. |
 * | `pipeline.params`, `pipeline.device` | ctor (l.11872, 11743) | the weights (passed to every model function) and the webgpu `DLDevice` (`sync()` waits for queued GPU work and read-backs). |
 * | `pipeline.getTokensEmbeddings(ids)` | ~l.13164 | runs `embed` in its own scope and attaches the result to the caller's scope (so the caller must have one open); ids.length <= prefillChunkSize. |
 * | `pipeline.getActiveKVStates()` | ~l.13510 | [kvCache] (plus rnnState on hybrid models). |
 * | `pipeline.fKVCacheBeginForward`, `fKVCacheEndForward` | ctor (~l.11920-11921) | detached `vm.builtin.kv_state_begin_forward/end_forward`: bracket every forward with (seq ids, lengths) shape tuples. |
 * | `tvm.beginScope` / `endScope` | Instance (~l.7859-7871) -> RuntimeContext (~l.7214-7229) | push / pop an auto-dispose list; `endScope` disposes everything still attached. |
 * | `tvm.detachFromCurrentScope(x)` | ~l.7925 -> ~l.7255 | removes x from the TOP scope so it survives `endScope`; fails with no scope open or when x is not in it. We dispose what we detach. |
 * | `tvm.getGlobalFunc(name)` | ~l.7979-8010 | looks up a runtime global ("Cannot find global function NAME" when absent) and ATTACHES it to the current scope, which throws "Must call beginScope to use functions that returns TVM objects" when none is open. Hence the scope around our lookup. |
 * | `vm.builtin.kv_state_popn(state, seq: int64, n: int32)` | a TVM runtime global in the wasm (KVState::PopN) | drops the last n tokens of sequence 0. JS numbers reach C++ as floats, so both integers go in as `tvm.scalar`. |
 * | `tvm.scalar`, `makeShapeTuple`, `empty`, `cpu` | ~l.8330, 8543, 8364, 8346 | `scalar` is a plain JS value (no scope needed); `makeShapeTuple` and `empty` return objects attached to the current scope. |
 * | `Tensor.view`, `copyFrom`, `toArray`, `TVMArray.get` | ~l.7522, 7619, 7684 | `view`/`get` return attached objects; `copyFrom(gpuTensor)` queues a GPU->host copy (complete after `device.sync()`); `toArray` returns a fresh typed array (a copy of the wasm heap), no TVM object. |
 * | `tvm.lib.webGPUContext.device` | set in `initWebGPU` (~l.8775-8791) | the GPUDevice: `limits.maxBufferSize` and `limits.maxStorageBufferBindingSize` (what `detectGPUDevice` requested, ~l.4775-4850), `lost`, error scopes. |
 * | device loss | `tryCreateBuffer` (~l.4871), `initWebGPU` (~l.8768), `reloadInternal` (~l.18303) | a buffer that cannot be created is returned invalid and, when its popped error scopes report an error, tvmjs calls `device.destroy()` LATER (a promise); `device.lost` then resolves, tvmjs disposes its Instance and web-llm unloads the model. Nothing throws at the call that caused it. |
 * | the model library's `batch_verify(embeds[1,n,h], kvCache, params)` | mlc-llm model definition; web-llm never calls it | logits of all n positions, [1, n, vocab] float32 in a TVMArray at index 0. |
 *
 * Every call above that returns a TVM object runs inside a scope we open and close in the same
 * function; what we keep (the popn function, the verify function, the logits and host tensors
 * until read) is detached and disposed by us. Calls made outside any scope: `tvm.scalar` (plain
 * value), `dispose()`, `Tensor.toArray()` (returns bytes), `device.sync()`.
 */
import { DeviceLostError } from '../../../src/lib/webgpu/errors';
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
  /** Why prompt reuse is available or not. */
  popKv: string;
  /** Why the all-positions path is available or not, and its row limit. */
  verify: string;
}

/** Logits bytes one all-positions call may read back (rows x vocab x 4 bytes). */
export const VERIFY_BYTE_BUDGET = 64 * 2 ** 20;

export interface VerifyPlanInput {
  prefillChunkTokens: number;
  /** Length of one logits row (the model's padded vocabulary). */
  rowLength: number;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  budgetBytes?: number;
}

export interface VerifyPlan {
  /** Positions per call; 0 means the path must not be used on this device. */
  maxRows: number;
  reason: string;
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 3 : 0)} MB`;

/**
 * How many positions one `batch_verify` call may take on this device. Its logits are
 * rows x rowLength x 4 bytes: one storage buffer (bound whole by the kernel), the same again as a
 * MAP_READ staging buffer, and a host copy in the wasm heap (which never shrinks). The model
 * library's memory plan may size the logits storage for a whole prefill chunk whatever the rows,
 * so the path is refused when prefill_chunk_size rows exceed `maxBufferSize` or
 * `maxStorageBufferBindingSize` (tvmjs would create the buffer invalid and destroy the device).
 * Within that, rows are capped by the byte budget.
 */
export function planVerifyRows(input: VerifyPlanInput): VerifyPlan {
  const rowBytes = input.rowLength * 4;
  const limit = Math.min(input.maxBufferSize, input.maxStorageBufferBindingSize);
  const chunk = Math.max(1, input.prefillChunkTokens);
  const whole = chunk * rowBytes;
  if (!(rowBytes > 0) || !(limit > 0)) return { maxRows: 0, reason: 'the device limits or the row length are unknown' };
  if (whole > limit) {
    return {
      maxRows: 0,
      reason:
        `all-positions logits for one prefill chunk need ${mb(whole)} (${chunk} positions x ${input.rowLength} x 4 bytes), ` +
        `more than this GPU allows in one buffer (${mb(limit)})`,
    };
  }
  const budget = input.budgetBytes ?? VERIFY_BYTE_BUDGET;
  const rows = Math.min(chunk, Math.floor(budget / rowBytes), Math.floor(limit / rowBytes));
  if (rows < 1) return { maxRows: 0, reason: `one logits row (${mb(rowBytes)}) exceeds the ${mb(budget)} read-back budget` };
  return { maxRows: rows, reason: `up to ${rows} positions per call (${mb(rows * rowBytes)} of logits)` };
}

interface GpuDeviceLike {
  limits?: { maxBufferSize?: number; maxStorageBufferBindingSize?: number };
  lost?: Promise<{ reason?: string; message?: string }>;
  pushErrorScope?: (filter: string) => void;
  popErrorScope?: () => Promise<unknown>;
  queue?: { onSubmittedWorkDone?: () => Promise<void> };
}

const macrotask = () => new Promise<void>((r) => setTimeout(r, 0));

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export interface BackendOptions {
  /** Offer the all-positions path (off when a previous probe lost the device). */
  allowVerify?: boolean;
  /** Why it is off, for the load report. */
  verifyOffReason?: string;
  verifyBudgetBytes?: number;
}

export function backendFromMlcEngine(
  engine: MlcEngineSlice,
  modelId: string,
  options: BackendOptions = {},
): { backend: WebLlmBackend; report: InternalsReport } {
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
  const tvm = pipeline.tvm;

  // Device loss: tvmjs destroys the device asynchronously; web-llm then unloads the model.
  const gpu: GpuDeviceLike | undefined = tvm?.lib?.webGPUContext?.device;
  let lostReason: string | null = null;
  let unloadedByUs = false;
  gpu?.lost?.then(
    (info) => {
      if (!unloadedByUs) lostReason = `the GPU device was lost${info?.message ? ` (${info.message})` : info?.reason ? ` (${info.reason})` : ''}`;
    },
    () => undefined,
  );
  const deviceLost = (): string | null => {
    if (unloadedByUs) return null;
    if (lostReason) return lostReason;
    const map = e.loadedModelIdToPipeline;
    if (map && typeof map.get === 'function' && map.get(modelId) !== pipeline) return 'web-llm unloaded the model (it does so when the GPU device is lost)';
    return null;
  };
  const lostError = (reason: string) =>
    new DeviceLostError(`The GPU dropped ${modelId}: ${reason}, usually because it ran out of memory. Load the model again, or pick a smaller one.`);
  const alive = () => {
    const reason = deviceLost();
    if (reason) throw lostError(reason);
  };
  /** Rethrow `err`, as DeviceLostError when the device is gone (web-llm's errors do not say so). */
  const rethrow = (err: unknown): never => {
    const reason = deviceLost() ?? (err instanceof Error && err.name === 'ModelNotLoadedError' && !unloadedByUs ? 'web-llm no longer has the model loaded' : null);
    if (reason) throw lostError(reason);
    throw err;
  };

  const kept: { dispose(): void }[] = [];
  const backend: WebLlmBackend = {
    modelId,
    contextWindowTokens,
    conv,
    vocabSize: typeof tokenizer.getVocabSize === 'function' ? tokenizer.getVocabSize() : chatConfig.vocab_size,
    prefillChunkTokens: typeof pipeline.prefillChunkSize === 'number' ? pipeline.prefillChunkSize : 1,
    encode: (text) => Array.from(tokenizer.encode(text) as Int32Array),
    decode: (ids) => tokenizer.decode(Int32Array.from(ids)) as string,
    forwardTokensAndSample: async (ids, isPrefill) => {
      alive();
      try {
        return await engine.forwardTokensAndSample(ids, isPrefill, modelId);
      } catch (err) {
        return rethrow(err);
      }
    },
    resetChat: async () => {
      alive();
      try {
        await engine.resetChat(false, modelId);
      } catch (err) {
        rethrow(err);
      }
      // web-llm's resetChat is a no-op when the model is gone; do not let that pass as success.
      alive();
    },
    kvLength: () => pipeline.filledKVCacheLength as number,
    deviceLost,
    settle: async () => {
      // Our error scope pops after the ones tvmjs pushed around earlier buffer creations, so by
      // then any `device.destroy()` it decided on has been called; `lost` resolves a task later.
      try {
        gpu?.pushErrorScope?.('validation');
        await gpu?.popErrorScope?.();
      } catch {
        // a lost device may reject; the check below decides
      }
      try {
        await gpu?.queue?.onSubmittedWorkDone?.();
      } catch {
        // same
      }
      await macrotask();
      await macrotask();
    },
    unload: async () => {
      unloadedByUs = true;
      for (const k of kept.splice(0)) {
        try {
          k.dispose();
        } catch {
          // the tvm instance may already be disposed (device lost)
        }
      }
      await engine.unload();
    },
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
  if (!tvm || typeof tvm.beginScope !== 'function' || typeof tvm.endScope !== 'function') {
    report.popKv = report.verify = 'pipeline.tvm lacks beginScope/endScope';
    return { backend, report };
  }

  // KV roll-back: look the global up inside a scope and keep it detached.
  let popn: ((...args: unknown[]) => unknown) & { dispose(): void } | null = null;
  tvm.beginScope();
  try {
    popn = tvm.detachFromCurrentScope(tvm.getGlobalFunc('vm.builtin.kv_state_popn'));
  } catch (err) {
    report.popKv = `no KV roll-back (${messageOf(err)})`;
  } finally {
    tvm.endScope();
  }
  if (popn) {
    const fn = popn;
    kept.push(fn);
    report.popKv = 'KV roll-back (vm.builtin.kv_state_popn)';
    backend.popKv = (n: number) => {
      if (n <= 0) return;
      alive();
      if (n > pipeline.filledKVCacheLength) throw new Error(`cannot drop ${n} of ${pipeline.filledKVCacheLength} cached tokens`);
      tvm.beginScope();
      try {
        fn(pipeline.kvCache, tvm.scalar(0, 'int64'), tvm.scalar(n, 'int32'));
      } catch (err) {
        rethrow(err);
      } finally {
        tvm.endScope();
      }
      pipeline.filledKVCacheLength -= n;
    };
  }

  // The all-positions path.
  if (options.allowVerify === false) {
    report.verify = options.verifyOffReason ?? 'switched off for this load';
    return { backend, report };
  }
  const needed = ['getTokensEmbeddings', 'getActiveKVStates', 'fKVCacheBeginForward', 'fKVCacheEndForward'];
  const missing = needed.filter((k) => typeof pipeline[k] !== 'function');
  if (missing.length > 0 || !pipeline.vm || !pipeline.params || !pipeline.device) {
    report.verify = `pipeline lacks ${missing.join(', ') || 'vm/params/device'}`;
    return { backend, report };
  }
  let verifyFn: ((...args: unknown[]) => any) & { dispose(): void } | null = null;
  tvm.beginScope();
  try {
    verifyFn = tvm.detachFromCurrentScope(pipeline.vm.getFunction('batch_verify'));
  } catch (err) {
    report.verify = `no batch_verify (${messageOf(err)})`;
  } finally {
    tvm.endScope();
  }
  if (!verifyFn) return { backend, report };
  const verify = verifyFn;
  kept.push(verify);
  const rowLength: number = chatConfig.vocab_size ?? pipeline.fullVocabSize ?? backend.vocabSize;
  const plan = planVerifyRows({
    prefillChunkTokens: backend.prefillChunkTokens,
    rowLength,
    maxBufferSize: gpu?.limits?.maxBufferSize ?? 0,
    maxStorageBufferBindingSize: gpu?.limits?.maxStorageBufferBindingSize ?? 0,
    budgetBytes: options.verifyBudgetBytes,
  });
  if (plan.maxRows === 0) {
    report.verify = `batch_verify not used: ${plan.reason}`;
    return { backend, report };
  }
  report.verify = `batch_verify, ${plan.reason}`;
  backend.verifyMaxRows = plan.maxRows;
  backend.verifyAllPositions = async (ids: number[]) => {
    if (ids.length === 0 || ids.length > plan.maxRows) throw new Error(`verify takes 1..${plan.maxRows} tokens`);
    alive();
    let host: any = null;
    let logits: any = null;
    try {
      tvm.beginScope();
      try {
        const emb = pipeline.getTokensEmbeddings(ids);
        const states = pipeline.getActiveKVStates();
        const seqIds = tvm.makeShapeTuple([0]);
        const lengths = tvm.makeShapeTuple([ids.length]);
        for (const s of states) pipeline.fKVCacheBeginForward(s, seqIds, lengths);
        let ret: any;
        try {
          ret = verify(emb.view([1, ...emb.shape]), pipeline.kvCache, pipeline.params);
        } finally {
          for (let i = states.length - 1; i >= 0; i--) pipeline.fKVCacheEndForward(states[i]);
        }
        pipeline.filledKVCacheLength += ids.length;
        logits = tvm.detachFromCurrentScope(ret.get(0));
        host = tvm.detachFromCurrentScope(tvm.empty(logits.shape, logits.dtype, tvm.cpu()));
        host.copyFrom(logits);
      } finally {
        tvm.endScope();
      }
      await pipeline.device.sync();
      alive();
      const shape = logits.shape as number[];
      const width = Number(shape[shape.length - 1]);
      // toArray already returns a fresh Float32Array (a copy of the wasm heap): no second copy.
      const rows = host.toArray() as Float32Array;
      if (rows.length !== ids.length * width) throw new Error(`batch_verify returned ${rows.length} values for ${ids.length} positions`);
      return { rows, rowLength: width };
    } catch (err) {
      return rethrow(err);
    } finally {
      for (const t of [host, logits]) {
        try {
          t?.dispose();
        } catch {
          // disposed with the tvm instance already
        }
      }
    }
  };
  return { backend, report };
}
