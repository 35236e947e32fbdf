/**
 * A fake of web-llm 0.2.86's MLCEngine down to the parts `internals.ts` reaches into: the private
 * `LLMChatPipeline`, the bundled tvmjs runtime (`tvm`) with its scope rules, and the GPUDevice
 * with its limits and its asynchronous loss. No GPU, no network. Tests drive it through
 * `backendFromMlcEngine` exactly as the app drives the real engine.
 *
 * What it models, each read from node_modules/@mlc-ai/web-llm/lib/index.js (0.2.86):
 * - tvmjs scopes (RuntimeContext, ~l.7214-7270): `beginScope` pushes a list, `endScope` disposes
 *   every object attached to it (and throws on an empty stack), `attachToCurrentScope` throws
 *   "Must call beginScope to use functions that returns TVM objects" when no scope is open,
 *   `detachFromCurrentScope` fails without a scope (it reads the top of an empty stack) or when the
 *   object is not in the top scope. Every object a packed function returns is attached
 *   (`retValueToJS`, ~l.9166), and so is the function `getGlobalFunc` returns (~l.7979-8010);
 *   a missing global throws "Cannot find global function NAME" first.
 * - Disposed objects: calling a disposed packed function or reading a disposed tensor throws, so
 *   a value used after the scope that owned it ended is caught.
 * - Packed-function arguments: a plain JS number reaches C++ as a float, so integer parameters
 *   (`kv_state_popn`'s seq id and count) must be `tvm.scalar(v, 'int64' | 'int32')`.
 * - Kernels: prefill returns the last position's logits only, decode one row, `batch_verify` every
 *   position. Their logits differ by seeded relative noise (default 1e-3, about what f16
 *   accumulation in differently tiled kernels gives), deterministic for the same kernel and input,
 *   as a GPU's are.
 * - The device (`tryCreateBuffer`, ~l.4871; `initWebGPU`, ~l.8765; `reloadInternal`, ~l.18303):
 *   a buffer larger than `maxBufferSize` (or binding more than `maxStorageBufferBindingSize`), or
 *   past the memory budget, is created invalid; a moment later the popped error scope makes
 *   tvmjs call `device.destroy()`, `device.lost` resolves, tvmjs disposes its instance and the
 *   engine unloads the model, after which the public API throws ModelNotLoadedError. A read-back
 *   from a lost device rejects.
 * - Memory plan (assumption, not verified on a GPU): the first `batch_verify` call allocates its
 *   logits storage for a whole prefill chunk (prefill_chunk_size x vocab x 4 bytes), as a static
 *   plan sized by the sequence-length upper bound would.
 */
import type { ConvTemplateLike } from './chat-template';
import { CHATML, FAKE_ALPHABET, FAKE_ROW_LENGTH, kernelLogits, type Kernel } from './fake-backend';

interface LogitProcessorLike {
  processLogits(logits: Float32Array): Float32Array;
  processSampledToken(token: number): void;
  resetState(): void;
}

class FakeTvmObject {
  disposed = false;
  constructor(protected readonly tvm: FakeTvm) {}
  dispose(): void {
    this.disposed = true;
  }
  protected live(what: string): void {
    if (this.disposed) throw new Error(`${what} was used after it was disposed (its scope ended)`);
    if (this.tvm.disposed) throw new Error(`${what} was used after the tvm instance was disposed`);
  }
}

export class FakeScalar {
  constructor(
    readonly value: number,
    readonly dtype: string,
  ) {}
}

export class FakeShapeTuple extends FakeTvmObject {
  constructor(
    tvm: FakeTvm,
    readonly dims: number[],
  ) {
    super(tvm);
  }
}

export interface FakeDevice {
  readonly deviceType: 'cpu' | 'webgpu';
  sync(): Promise<void>;
}

export class FakeTensor extends FakeTvmObject {
  readonly dtype = 'float32';
  constructor(
    tvm: FakeTvm,
    readonly shape: number[],
    readonly device: FakeDevice,
    private data: Float32Array,
    /** Token ids an embedding tensor stands for. */
    readonly ids: number[] = [],
    readonly buffer: FakeGpuBuffer | null = null,
  ) {
    super(tvm);
  }
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  view(shape: number[]): FakeTensor {
    this.live('Tensor.view');
    return this.tvm.attachToCurrentScope(new FakeTensor(this.tvm, shape, this.device, this.data, this.ids, this.buffer));
  }
  copyFrom(src: FakeTensor | ArrayLike<number>): this {
    this.live('Tensor.copyFrom');
    if (src instanceof FakeTensor) {
      src.live('Tensor.copyFrom source');
      if (src.size !== this.size) throw new Error('copyFrom: size mismatch');
      if (src.buffer) this.tvm.gpu.read(src.buffer, src.size * 4);
      this.data = src.data.slice();
    } else {
      if (src.length !== this.size) throw new Error(`data size and shape mismatch data.length${src.length} vs ${this.size}`);
      this.data = Float32Array.from(src);
    }
    return this;
  }
  /** Host arrays only, as in tvmjs ("Can only sync copy CPU array"); returns a fresh copy. */
  toArray(): Float32Array {
    this.live('Tensor.toArray');
    if (this.device.deviceType !== 'cpu') throw new Error('Can only sync copy CPU array, use cpu_arr.copyfrom(gpu_arr) then sync instead.');
    this.tvm.hostCopies++;
    return this.data.slice();
  }
  peek(): Float32Array {
    return this.data;
  }
  override dispose(): void {
    if (!this.disposed && this.buffer) this.tvm.gpu.free(this.buffer);
    super.dispose();
  }
}

class FakeTvmArray extends FakeTvmObject {
  constructor(
    tvm: FakeTvm,
    private readonly items: FakeTensor[],
  ) {
    super(tvm);
  }
  get(i: number): FakeTensor {
    this.live('Array.get');
    // ffi.ArrayGetItem returns a new reference, attached to the current scope.
    const t = this.items[i];
    return this.tvm.attachToCurrentScope(new FakeTensor(this.tvm, t.shape, t.device, t.peek(), t.ids, t.buffer));
  }
}

export interface FakeKvCache {
  ids: number[];
  pending: number | null;
  disposed: boolean;
}

export type PackedFunc = ((...args: unknown[]) => unknown) & { dispose(): void; disposed: boolean };

interface FakeGpuBuffer {
  size: number;
  valid: boolean;
}

export interface FakeGpuOptions {
  maxBufferSize?: number;
  maxStorageBufferBindingSize?: number;
  /** Total bytes the device can hold before an allocation fails as out-of-memory. */
  memoryBytes?: number;
}

/** The GPUDevice as tvmjs and web-llm see it: limits, error scopes, `lost`, `destroy()`. */
export class FakeGpuDevice {
  readonly limits: { maxBufferSize: number; maxStorageBufferBindingSize: number };
  readonly memoryBytes: number;
  allocatedBytes = 0;
  destroyed = false;
  /** Buffers the fake refused (too large or out of memory). */
  failedBuffers: number[] = [];
  readonly lost: Promise<{ reason: 'destroyed' | 'unknown'; message: string }>;
  private resolveLost!: (info: { reason: 'destroyed' | 'unknown'; message: string }) => void;
  private scopeErrors: (string | null)[][] = [];
  readonly queue = { onSubmittedWorkDone: () => new Promise<void>((r) => setTimeout(r, 0)) };

  constructor(opts: FakeGpuOptions = {}) {
    this.limits = {
      maxBufferSize: opts.maxBufferSize ?? 1 << 30,
      maxStorageBufferBindingSize: opts.maxStorageBufferBindingSize ?? 1 << 30,
    };
    this.memoryBytes = opts.memoryBytes ?? 4 * 2 ** 30;
    this.lost = new Promise((r) => (this.resolveLost = r));
  }

  pushErrorScope(_filter: string): void {
    this.scopeErrors.push([]);
  }

  /** Resolves a macrotask later, as a GPU round trip does, in the order the scopes were popped. */
  popErrorScope(): Promise<{ message: string } | null> {
    const errors = this.scopeErrors.pop() ?? [];
    return new Promise((r) => setTimeout(() => r(errors[0] ? { message: errors[0] } : null), 0));
  }

  /** tvmjs `tryCreateBuffer`: the buffer is created invalid and the device destroyed soon after. */
  createBuffer(size: number, binding: boolean): FakeGpuBuffer {
    this.pushErrorScope('out-of-memory');
    let error: string | null = null;
    if (this.destroyed) error = 'device is destroyed';
    else if (size > this.limits.maxBufferSize) error = `Buffer size (${size}) exceeds the max buffer size limit (${this.limits.maxBufferSize}).`;
    else if (binding && size > this.limits.maxStorageBufferBindingSize) error = `Binding size (${size}) exceeds maxStorageBufferBindingSize (${this.limits.maxStorageBufferBindingSize}).`;
    else if (this.allocatedBytes + size > this.memoryBytes) error = 'Out of memory';
    if (error) this.scopeErrors[this.scopeErrors.length - 1].push(error);
    const buffer = { size, valid: !error };
    if (buffer.valid) this.allocatedBytes += size;
    else this.failedBuffers.push(size);
    void this.popErrorScope().then((e) => {
      if (e) this.destroy();
    });
    return buffer;
  }

  free(buffer: FakeGpuBuffer): void {
    if (buffer.valid) this.allocatedBytes -= buffer.size;
    buffer.valid = false;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    setTimeout(() => this.resolveLost({ reason: 'destroyed', message: 'Device was destroyed.' }), 0);
  }
}

/** tvmjs `Instance` as far as web-llm's pipeline and internals.ts use it. */
export class FakeTvm {
  private readonly autoDisposeScope: (unknown | undefined)[][] = [];
  readonly globals = new Map<string, (...args: unknown[]) => unknown>();
  disposed = false;
  hostCopies = 0;
  readonly lib: { webGPUContext: { device: FakeGpuDevice } };
  private readonly cpuDevice: FakeDevice = { deviceType: 'cpu', sync: async () => undefined };
  private readonly gpuDevice: FakeDevice;
  /** Read-backs since the last sync that touched an invalid buffer. */
  private badRead = false;

  constructor(readonly gpu: FakeGpu) {
    this.lib = { webGPUContext: { device: gpu.device } };
    this.gpuDevice = {
      deviceType: 'webgpu',
      sync: () =>
        new Promise<void>((resolve, reject) =>
          setTimeout(() => {
            const bad = this.badRead || gpu.device.destroyed;
            this.badRead = false;
            if (bad) reject(Object.assign(new Error("Failed to execute 'mapAsync' on 'GPUBuffer': Device is lost."), { name: 'OperationError' }));
            else resolve();
          }, 0),
        ),
    };
    gpu.onBadRead = () => (this.badRead = true);
  }

  get scopeDepth(): number {
    return this.autoDisposeScope.length;
  }

  beginScope(): void {
    this.autoDisposeScope.push([]);
  }

  endScope(): void {
    if (this.autoDisposeScope.length === 0) throw Error('tvm.endScope called when the stack is empty.');
    const scope = this.autoDisposeScope.pop()!;
    for (const v of scope) (v as { dispose?: () => void } | undefined)?.dispose?.();
  }

  withNewScope<T>(action: () => T): T {
    this.beginScope();
    try {
      return action();
    } finally {
      this.endScope();
    }
  }

  attachToCurrentScope<T>(obj: T): T {
    if (this.autoDisposeScope.length === 0) throw Error('Must call beginScope to use functions that returns TVM objects');
    this.autoDisposeScope[this.autoDisposeScope.length - 1].push(obj);
    return obj;
  }

  detachFromCurrentScope<T>(obj: T): T {
    const currScope = this.autoDisposeScope[this.autoDisposeScope.length - 1];
    // 0.2.86 reads `currScope.length` unguarded: a TypeError when no scope is open.
    if (currScope === undefined) throw new TypeError("Cannot read properties of undefined (reading 'length')");
    let occurrence = 0;
    for (let i = 0; i < currScope.length; i++) {
      if (currScope[i] === obj) {
        occurrence++;
        currScope[i] = undefined;
      }
    }
    if (occurrence === 0) throw Error('Cannot find obj in the current auto conversion pool');
    if (occurrence > 1) throw Error('Value attached to scope multiple times');
    return obj;
  }

  /** A packed function: returned values that are TVM objects are attached to the current scope. */
  packed(name: string, fn: (...args: unknown[]) => unknown): PackedFunc {
    const f = ((...args: unknown[]) => {
      if (f.disposed) throw new Error(`packed function ${name} was called after it was disposed`);
      if (this.disposed) throw new Error(`packed function ${name} was called after the tvm instance was disposed`);
      for (const a of args) {
        if (typeof a === 'number') throw new Error(`${name}: a plain number reaches C++ as a float; pass tvm.scalar(v, dtype)`);
        if (a && typeof a === 'object' && 'disposed' in a && (a as { disposed: boolean }).disposed) throw new Error(`${name}: argument was disposed`);
      }
      const ret = fn(...args);
      if (ret instanceof FakeTvmObject || (typeof ret === 'function' && 'disposed' in ret)) this.attachToCurrentScope(ret);
      return ret;
    }) as PackedFunc;
    f.disposed = false;
    f.dispose = () => void (f.disposed = true);
    return f;
  }

  getGlobalFunc(name: string): PackedFunc {
    const fn = this.globals.get(name);
    if (!fn) throw Error('Cannot find global function ' + name);
    return this.attachToCurrentScope(this.packed(name, fn));
  }

  scalar(value: number, dtype: string): FakeScalar {
    return new FakeScalar(value, dtype);
  }

  makeShapeTuple(dims: number[]): FakeShapeTuple {
    return this.attachToCurrentScope(new FakeShapeTuple(this, dims));
  }

  cpu(): FakeDevice {
    return this.cpuDevice;
  }

  webgpu(): FakeDevice {
    return this.gpuDevice;
  }

  empty(shape: number[], _dtype = 'float32', dev: FakeDevice = this.cpuDevice): FakeTensor {
    if (this.disposed) throw new Error('tvm.empty after the tvm instance was disposed');
    const size = shape.reduce((a, b) => a * b, 1);
    const buffer = dev.deviceType === 'webgpu' ? this.gpu.alloc(size * 4, true) : null;
    if (dev.deviceType === 'cpu') this.gpu.hostBytes = Math.max(this.gpu.hostBytes, size * 4);
    return this.attachToCurrentScope(new FakeTensor(this, shape, dev, new Float32Array(size), [], buffer));
  }

  /** Instance.dispose (what tvmjs calls from `device.lost` when the loss was not its own doing). */
  dispose(): void {
    this.disposed = true;
  }
}

/** The device plus the bookkeeping the tensors share. */
export class FakeGpu {
  readonly device: FakeGpuDevice;
  /** Largest host tensor (wasm heap) allocated, in bytes. */
  hostBytes = 0;
  onBadRead: () => void = () => {};
  constructor(opts: FakeGpuOptions) {
    this.device = new FakeGpuDevice(opts);
  }
  alloc(bytes: number, binding: boolean): FakeGpuBuffer {
    return this.device.createBuffer(bytes, binding);
  }
  free(buffer: FakeGpuBuffer): void {
    this.device.free(buffer);
  }
  read(buffer: FakeGpuBuffer, _bytes: number): void {
    if (!buffer.valid || this.device.destroyed) this.onBadRead();
  }
}

export interface FakeMlcOptions extends FakeGpuOptions {
  contextWindowTokens?: number;
  prefillChunkTokens?: number;
  /** Relative noise between kernels (prefill, decode, verify); 0 makes them bit-identical. */
  kernelNoise?: number;
  seed?: number;
  /** Export `batch_verify` from the model library. */
  verify?: boolean;
  /** Register `vm.builtin.kv_state_popn` in the runtime. */
  popn?: boolean;
  /** A hybrid (KV + RNN state) model such as Qwen3.5. */
  hybrid?: boolean;
  /** A roll-back that leaves one stale token behind. */
  brokenPopn?: boolean;
  modelId?: string;
}

export class ModelNotLoadedErrorLike extends Error {
  constructor(requestName: string) {
    super(`Model not loaded before trying to complete ${requestName}. Please ensure you have called MLCEngine.reload(model) to load the model before initiating APIs, or initialize your engine using CreateMLCEngine() with a valid model configuration.`);
    this.name = 'ModelNotLoadedError';
  }
}

/** The private LLMChatPipeline: the fields and methods internals.ts touches, with their semantics. */
export class FakePipeline {
  readonly tvm: FakeTvm;
  readonly tokenizer = {
    encode: (text: string) => Int32Array.from([...text].map((ch) => Math.max(0, FAKE_ALPHABET.indexOf(ch.toLowerCase())))),
    decode: (ids: Int32Array) => Array.from(ids, (id) => (id < FAKE_ALPHABET.length ? FAKE_ALPHABET[id] : '')).join(''),
    getVocabSize: () => 16,
  };
  filledKVCacheLength = 0;
  readonly contextWindowSize: number;
  readonly slidingWindowSize = -1;
  readonly prefillChunkSize: number;
  readonly kvCache: FakeKvCache;
  readonly rnnState: object | undefined;
  readonly artifact = undefined;
  readonly resolvedModelABI: { needsKVCache: boolean; needsRNNState: boolean; prefillABI: 'single' | 'batch' };
  readonly params = { disposed: false };
  readonly device: FakeDevice;
  readonly vm: { getFunction(name: string): PackedFunc };
  readonly fKVCacheBeginForward: PackedFunc;
  readonly fKVCacheEndForward: PackedFunc;
  readonly config: { conv_template: ConvTemplateLike; context_window_size: number; vocab_size: number };
  /** Kernels run, for tests: 'prefill' | 'decode' | 'verify' with the number of positions. */
  readonly kernelLog: string[] = [];
  private verifyPlanned = false;

  constructor(
    gpu: FakeGpu,
    private readonly processor: LogitProcessorLike | undefined,
    private readonly opts: FakeMlcOptions,
  ) {
    const tvm = (this.tvm = new FakeTvm(gpu));
    this.contextWindowSize = opts.contextWindowTokens ?? 256;
    this.prefillChunkSize = opts.prefillChunkTokens ?? 16;
    this.kvCache = { ids: [], pending: null, disposed: false };
    this.rnnState = opts.hybrid ? { disposed: false } : undefined;
    this.resolvedModelABI = { needsKVCache: true, needsRNNState: !!opts.hybrid, prefillABI: opts.hybrid ? 'batch' : 'single' };
    this.device = tvm.webgpu();
    this.config = { conv_template: CHATML, context_window_size: this.contextWindowSize, vocab_size: FAKE_ROW_LENGTH };

    const kv = this.kvCache;
    tvm.globals.set('vm.builtin.kv_state_begin_forward', (state, _seqIds, lens) => {
      (state as FakeKvCache).pending = (lens as FakeShapeTuple).dims[0];
    });
    tvm.globals.set('vm.builtin.kv_state_end_forward', (state) => {
      (state as FakeKvCache).pending = null;
    });
    if (opts.popn !== false) {
      tvm.globals.set('vm.builtin.kv_state_popn', (state, seq, n) => {
        if (!(seq instanceof FakeScalar) || seq.dtype !== 'int64') throw new Error('kv_state_popn: seq_id must be an int64 scalar');
        if (!(n instanceof FakeScalar) || n.dtype !== 'int32') throw new Error('kv_state_popn: n must be an int32 scalar');
        const s = state as FakeKvCache;
        if (n.value < 0 || n.value > s.ids.length) throw new Error(`kv_state_popn: cannot pop ${n.value} of ${s.ids.length}`);
        s.ids.length -= opts.brokenPopn && n.value > 0 ? n.value - 1 : n.value;
      });
    }
    // The pipeline constructor looks these up inside a scope and detaches them (l.11920-11921).
    tvm.beginScope();
    this.fKVCacheBeginForward = tvm.detachFromCurrentScope(tvm.getGlobalFunc('vm.builtin.kv_state_begin_forward'));
    this.fKVCacheEndForward = tvm.detachFromCurrentScope(tvm.getGlobalFunc('vm.builtin.kv_state_end_forward'));
    tvm.endScope();

    const embed = tvm.packed('embed', (input) => {
      const t = input as FakeTensor;
      return new FakeTensor(tvm, [t.ids.length, 4], this.device, new Float32Array(t.ids.length * 4), t.ids);
    });
    const verify = tvm.packed('batch_verify', (emb, state) => {
      const e = emb as FakeTensor;
      const s = state as FakeKvCache;
      const n = e.ids.length;
      if (e.shape.length !== 3 || e.shape[0] !== 1 || e.shape[1] !== n) throw new Error('batch_verify expects embeddings of shape [1, n, hidden]');
      if (s.pending !== n) throw new Error('batch_verify: kv_state_begin_forward was not called for this length');
      const V = FAKE_ROW_LENGTH;
      if (!this.verifyPlanned) {
        // The planned logits storage, sized for the sequence-length upper bound.
        gpu.alloc(this.prefillChunkSize * V * 4, true);
        this.verifyPlanned = true;
      }
      const out = tvm.empty([1, n, V], 'float32', this.device);
      tvm.detachFromCurrentScope(out);
      const rows = new Float32Array(n * V);
      for (let i = 0; i < n; i++) {
        s.ids.push(e.ids[i]);
        rows.set(this.logits(s.ids, 'verify'), i * V);
      }
      out.copyFrom(rows);
      this.kernelLog.push(`verify ${n}`);
      return new FakeTvmArray(tvm, [out]);
    });
    this.vm = {
      getFunction: (name: string) => {
        if (name === 'batch_verify' && opts.verify) return tvm.attachToCurrentScope(verify);
        if (name === 'embed') return tvm.attachToCurrentScope(embed);
        throw new Error(`Cannot find function ${name} in the module`);
      },
    };
    tvm.beginScope();
    this.embedFn = tvm.detachFromCurrentScope(this.vm.getFunction('embed'));
    tvm.endScope();
    void kv;
  }

  private readonly embedFn: PackedFunc;

  logits(seq: readonly number[], kernel: Kernel): Float32Array {
    return kernelLogits(seq, kernel, this.opts.kernelNoise ?? 1e-3, this.opts.seed ?? 1);
  }

  getActiveKVStates(): object[] {
    return this.rnnState ? [this.kvCache, this.rnnState] : [this.kvCache];
  }

  /** As in 0.2.86 (l.13164): its own scope, the result re-attached to the caller's scope. */
  getTokensEmbeddings(inputTokens: number[]): FakeTensor {
    const tvm = this.tvm;
    tvm.beginScope();
    if (inputTokens.length > this.prefillChunkSize) throw new Error('Internal Error: getTokensEmbeddings input should be <= prefillChunkSize.');
    const input = new FakeTensor(tvm, [inputTokens.length], this.device, Float32Array.from(inputTokens), inputTokens.slice());
    tvm.attachToCurrentScope(input);
    const emb = tvm.detachFromCurrentScope(this.embedFn(input) as FakeTensor);
    tvm.endScope();
    tvm.attachToCurrentScope(emb);
    return emb;
  }

  /** The public path: prefill chunks (last row) or one decode step, then the processor, then sampling. */
  async forwardTokensAndSample(inputIds: number[]): Promise<number> {
    const tvm = this.tvm;
    if (tvm.disposed) throw new Error('the tvm instance was disposed');
    if (this.filledKVCacheLength + inputIds.length > this.contextWindowSize) throw new Error('KV cache overflow');
    tvm.beginScope();
    let row: Float32Array | null = null;
    for (let start = 0; start < inputIds.length; start += this.prefillChunkSize) {
      const chunk = inputIds.slice(start, start + this.prefillChunkSize);
      const kernel: Kernel = chunk.length > 1 ? 'prefill' : 'decode';
      this.kvCache.ids.push(...chunk);
      this.filledKVCacheLength += chunk.length;
      row = this.logits(this.kvCache.ids, kernel);
      this.kernelLog.push(`${kernel} ${chunk.length}`);
    }
    // The logits row is read back to the CPU (one GPU sync).
    await this.device.sync();
    const out = this.processor ? this.processor.processLogits(row!) : row!;
    let best = 0;
    for (let k = 1; k < out.length; k++) if (out[k] > out[best]) best = k;
    this.processor?.processSampledToken(best);
    tvm.endScope();
    return best;
  }

  resetChat(): void {
    this.tvm.beginScope();
    this.kvCache.ids = [];
    this.filledKVCacheLength = 0;
    this.processor?.resetState();
    this.tvm.endScope();
  }

  dispose(): void {
    this.tvm.dispose();
  }
}

/** MLCEngine: the public calls the app makes plus the private maps internals.ts reads. */
export class FakeMlcEngine {
  readonly loadedModelIdToPipeline = new Map<string, FakePipeline>();
  readonly loadedModelIdToChatConfig = new Map<string, FakePipeline['config']>();
  pipeline: FakePipeline | null = null;
  gpu: FakeGpu | null = null;
  reloads = 0;
  private deviceLostIsError = true;

  constructor(
    private readonly opts: FakeMlcOptions = {},
    private readonly processor?: LogitProcessorLike,
  ) {}

  /** web-llm `reload`: a new device per load, the lost handler, then the pipeline. */
  async reload(modelId: string, _chatOpts?: unknown): Promise<void> {
    await this.unload();
    this.reloads++;
    const gpu = (this.gpu = new FakeGpu(this.opts));
    const pipeline = new FakePipeline(gpu, this.processor, this.opts);
    gpu.device.lost.then(() => {
      // tvmjs (initWebGPU) disposes its instance; web-llm (reloadInternal) unloads the model.
      pipeline.tvm.dispose();
      if (this.deviceLostIsError) void this.unload();
    });
    this.pipeline = pipeline;
    this.loadedModelIdToPipeline.set(modelId, pipeline);
    this.loadedModelIdToChatConfig.set(modelId, pipeline.config);
  }

  private states(requestName: string, modelId?: string): FakePipeline {
    const ids = [...this.loadedModelIdToPipeline.keys()];
    if (ids.length === 0) throw new ModelNotLoadedErrorLike(requestName);
    const p = this.loadedModelIdToPipeline.get(modelId ?? ids[0]);
    if (!p) throw new Error(`Specified model ${modelId} for ${requestName} is not found in loaded models.`);
    return p;
  }

  async forwardTokensAndSample(inputIds: number[], _isPrefill: boolean, modelId?: string): Promise<number> {
    return this.states('forwardTokensAndSample', modelId).forwardTokensAndSample(inputIds);
  }

  /** Like 0.2.86: a no-op (not an error) when no model is loaded. */
  async resetChat(_keepStats?: boolean, modelId?: string): Promise<void> {
    try {
      this.states('resetChat', modelId).resetChat();
    } catch (err) {
      if (!(err instanceof ModelNotLoadedErrorLike)) throw err;
    }
  }

  async unload(): Promise<void> {
    this.deviceLostIsError = false;
    for (const p of this.loadedModelIdToPipeline.values()) p.dispose();
    this.loadedModelIdToPipeline.clear();
    this.loadedModelIdToChatConfig.clear();
    this.deviceLostIsError = true;
  }
}
