/**
 * The ONNX engine: a Hugging Face ONNX decoder (onnx-community layout) run by transformers.js
 * (onnxruntime-web on WASM or WebGPU in the browser, onnxruntime-node in Node) behind the Engine
 * contract.
 *
 * We drive the model one forward call at a time (`model.forward` with our own input ids,
 * attention mask, position ids and key/value cache) and never use the library's `generate`:
 * sampling goes through the reference engine's seeded sampler (reference/sampler.ts), so a seed
 * gives the same draw on both engines, and the reported log-probability of each sampled id is the
 * float64 log-softmax of that position's logits / T.
 *
 * Memory (the model returns logits for every input position; there is no way to ask for fewer
 * unless the graph has a `num_logits_to_keep` input, which we use when it is there):
 * - A prompt is prefilled once, in chunks of at most `prefillChunkTokens` positions and at most
 *   `logitsBudgetBytes` of logits per call; only the last row of the last chunk is kept.
 * - Scoring extends the prompt's cache with the continuations in batched calls: each row is one
 *   continuation (right-padded, the padding masked out), the prompt's cache copied per row. A batch
 *   holds as many continuations as fit `logitsBudgetBytes` of logits and `kvBudgetBytes` of cache;
 *   a continuation longer than the logits budget is scored alone in chunks over its own cache.
 * - Log-softmax is taken only of the rows that score a token, one row at a time into a reused
 *   float64 buffer of one vocabulary's length. No float64 [T x V] array is ever built.
 *
 * Counters follow the contract: a call over exactly one input position is a decode step; any other
 * call adds its real (unpadded) input tokens to prefillTokens. Padding is computed but not counted
 * (`paddingTokens()` reports it), so the scored tokens compare with ESTIMATOR.md §5 directly.
 *
 * Conventions shared with the reference engine: prompts (plain: BOS + text; chat: the model's own
 * template through `tokenizer.apply_chat_template`, or the plain join when it has none), the window
 * rule (generate: prompt <= window; score: prompt + continuation - 1 <= window, else
 * ContextTooLongError before any call), greedy at T = 0 reported at T = 1, and interrupts between
 * forward calls (the engine yields to the event loop about every `yieldIntervalMs`).
 */
import type {
  ChatMessage,
  Engine,
  EngineCounters,
  GenerateResult,
  ModelInfo,
  Prompt,
  SamplingSettings,
  StopReason,
  TokenEvent,
} from '../../../src/lib/core/engine';
import { ContextTooLongError, InterruptedError, InvalidArgumentError, PrecisError } from '../../../src/lib/core/errors';
import { validateSamplingSettings } from '../../../src/lib/core/sampling';
import { DeviceLostError } from '../../../src/lib/webgpu/errors';
import { Mulberry32, logProb, sample } from '../reference/sampler';
import { nowMs, yieldToEventLoop } from '../reference/yield';

/** The parts of a transformers.js Tensor we use. */
export interface TensorLike {
  readonly dims: readonly number[];
  readonly type: string;
  readonly data: ArrayLike<number> & { length: number };
  readonly location?: string;
  readonly ort_tensor?: { getData?: (release?: boolean) => Promise<unknown> };
  dispose(): void;
}

export type TensorCtor = new (type: string, data: unknown, dims: number[]) => TensorLike;

/** The parts of a transformers.js tokenizer we use. */
export interface TokenizerLike {
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  apply_chat_template(messages: ChatMessage[], options: Record<string, unknown>): unknown;
  chat_template?: unknown;
}

/** The parts of a transformers.js causal LM we use. */
export interface ModelLike {
  forward(inputs: Record<string, unknown>): Promise<Record<string, TensorLike>>;
  sessions: Record<string, { inputNames: string[]; outputNames: string[] }>;
  dispose?(): Promise<unknown>;
}

/** A GPUDevice's `lost` promise, when the model runs on WebGPU. */
export interface LostSignal {
  lost: Promise<{ reason?: string; message?: string }>;
}

export interface OnnxEngineOptions {
  /** Largest forward call of a prefill, in positions (default 128). */
  prefillChunkTokens?: number;
  /** Most logits (bytes, float32) one forward call may return (default 64 MiB). */
  logitsBudgetBytes?: number;
  /** Most bytes of key/value cache copies one scoring batch may hold (default 256 MiB). */
  kvBudgetBytes?: number;
  /** Yield to the event loop after this much uninterrupted work (default 8 ms). */
  yieldIntervalMs?: number;
}

export interface OnnxModelParts {
  /** Engine-qualified id, e.g. `onnx:stories260K` or `onnx:onnx-community/Qwen2.5-0.5B-Instruct`. */
  id: string;
  tokenizer: TokenizerLike;
  model: ModelLike;
  Tensor: TensorCtor;
  vocabSize: number;
  contextWindowTokens: number;
  bosId: number | null;
  stopIds: number[];
  runtime: NonNullable<ModelInfo['runtime']>;
  /** WebGPU only: the device whose loss ends the engine with DeviceLostError. */
  gpu?: LostSignal;
}

type Kv = Record<string, TensorLike>;

interface ForwardOut {
  logits: TensorLike;
  present: Kv;
}

const STANDARD_INPUTS = new Set(['input_ids', 'attention_mask', 'position_ids', 'num_logits_to_keep']);
const CACHE_INPUT = /^past_key_values\.\d+\.(key|value)$/;

/** Check that a session takes exactly the standard decoder inputs (else UnsupportedModelError-worthy). */
export function nonStandardInputs(inputNames: string[]): string[] {
  return inputNames.filter((n) => !STANDARD_INPUTS.has(n) && !CACHE_INPUT.test(n));
}

/** Incremental detokenizer: the text each new id adds after an anchor id (the prompt's last). */
class TextStream {
  private readonly ids: number[];
  private readonly anchorText: string;
  private emitted = '';
  constructor(
    private readonly tokenizer: TokenizerLike,
    anchor: number | undefined,
  ) {
    this.ids = anchor === undefined ? [] : [anchor];
    this.anchorText = this.ids.length ? tokenizer.decode(this.ids, { skip_special_tokens: true }) : '';
  }
  push(id: number): string {
    this.ids.push(id);
    const full = this.tokenizer.decode(this.ids, { skip_special_tokens: true });
    const text = full.startsWith(this.anchorText) ? full.slice(this.anchorText.length) : full;
    if (text.endsWith('\uFFFD')) return ''; // a partial UTF-8 sequence: wait for the rest
    const delta = text.startsWith(this.emitted) ? text.slice(this.emitted.length) : text;
    this.emitted = text;
    return delta;
  }
  /** Whatever a trailing partial UTF-8 sequence decoded to (replacement characters). */
  flush(): string {
    const full = this.tokenizer.decode(this.ids, { skip_special_tokens: true });
    const text = full.startsWith(this.anchorText) ? full.slice(this.anchorText.length) : full;
    return text.startsWith(this.emitted) ? text.slice(this.emitted.length) : '';
  }
}

/** IEEE half -> float (for float16 logits when the platform has no Float16Array). */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

export class OnnxEngine implements Engine {
  readonly info: ModelInfo;
  private readonly counts: EngineCounters = { prefillTokens: 0, decodeSteps: 0, forwardCalls: 0 };
  private padded = 0;
  private readonly chunkTokens: number;
  private readonly logitsBudgetBytes: number;
  private readonly kvBudgetBytes: number;
  private readonly yieldIntervalMs: number;
  private readonly keepLogitsInput: boolean;
  private readonly row: Float64Array;
  private running = false;
  private interruptRequested = false;
  private lastYieldMs = 0;
  private lostReason: string | null = null;
  private disposed = false;

  constructor(
    private readonly parts: OnnxModelParts,
    options: OnnxEngineOptions = {},
  ) {
    const hasTemplate = typeof parts.tokenizer.chat_template === 'string' || (parts.tokenizer.chat_template != null && typeof parts.tokenizer.chat_template === 'object');
    this.info = {
      id: parts.id,
      engine: 'onnx',
      promptStyle: hasTemplate ? 'chat' : 'plain',
      contextWindowTokens: parts.contextWindowTokens,
      vocabSize: parts.vocabSize,
      bosId: parts.bosId,
      stopIds: [...parts.stopIds],
      runtime: parts.runtime,
    };
    this.chunkTokens = Math.max(2, options.prefillChunkTokens ?? 128);
    this.logitsBudgetBytes = options.logitsBudgetBytes ?? 64 * 1024 * 1024;
    this.kvBudgetBytes = options.kvBudgetBytes ?? 256 * 1024 * 1024;
    this.yieldIntervalMs = options.yieldIntervalMs ?? 8;
    const session = parts.model.sessions.model ?? Object.values(parts.model.sessions)[0];
    this.keepLogitsInput = session?.inputNames.includes('num_logits_to_keep') ?? false;
    this.row = new Float64Array(parts.vocabSize);
    parts.gpu?.lost.then(
      (info) => {
        if (!this.disposed) this.lostReason = info?.message || info?.reason || 'unknown';
      },
      () => {},
    );
  }

  /** Positions one forward call may return logits for, within the logits budget. */
  private get rowBudget(): number {
    return Math.max(1, Math.floor(this.logitsBudgetBytes / (4 * this.info.vocabSize)));
  }

  tokenize(text: string): number[] {
    return this.parts.tokenizer.encode(text, { add_special_tokens: false });
  }

  detokenize(ids: number[]): string {
    this.checkIds(ids, 'detokenize');
    return this.parts.tokenizer.decode(ids, { skip_special_tokens: true });
  }

  /** The text `ids` add after `anchor` (the prompt's last id), as the streamed token texts join up. */
  decodeAfter(ids: number[], anchor: number | undefined): string {
    this.checkIds(ids, 'detokenize');
    const stream = new TextStream(this.parts.tokenizer, anchor);
    let text = '';
    for (const id of ids) text += stream.push(id);
    return text + stream.flush();
  }

  promptIds(prompt: Prompt): number[] {
    if (prompt.kind === 'chat' && this.info.promptStyle === 'chat') {
      const ids = this.parts.tokenizer.apply_chat_template(prompt.messages, {
        add_generation_prompt: true,
        tokenize: true,
        return_tensor: false,
        return_dict: false,
      });
      return Array.isArray(ids) ? (ids as unknown[]).map(Number) : Array.from(ids as ArrayLike<number>, Number);
    }
    const text = prompt.kind === 'plain' ? prompt.text : prompt.messages.map((m) => m.content).join('\n\n');
    const body = this.tokenize(text);
    return this.info.bosId === null ? body : [this.info.bosId, ...body];
  }

  async generate(promptIds: number[], settings: SamplingSettings, onToken?: (event: TokenEvent) => void): Promise<GenerateResult> {
    validateSamplingSettings(settings);
    const { temperature, topP, maxTokens, seed } = settings;
    this.checkPrompt(promptIds);
    const window = this.info.contextWindowTokens;
    if (promptIds.length > window) throw new ContextTooLongError(promptIds.length, window);

    return this.exclusive(async () => {
      const ids: number[] = [];
      const logprobsNats: number[] = [];
      const done = (stopReason: StopReason): GenerateResult => ({ ids, logprobsNats, stopReason });
      if (maxTokens === 0) return done('length');
      const pre = await this.prefill(promptIds);
      if (!pre) return done('interrupted');
      let cache = pre.cache;
      try {
        const rng = new Mulberry32(seed);
        const text = new TextStream(this.parts.tokenizer, promptIds[promptIds.length - 1]);
        let logits = pre.lastRow;
        let pos = promptIds.length;
        for (;;) {
          const { id, logprobNats } = sample(logits, temperature, topP, rng);
          ids.push(id);
          logprobsNats.push(logprobNats);
          onToken?.({ id, text: text.push(id), logprobNats, index: ids.length - 1 });
          if (this.info.stopIds.includes(id)) return done('stop');
          if (ids.length >= maxTokens || pos >= window) return done('length');
          if (await this.pause()) return done('interrupted');
          const out = await this.forward([[id]], [1], cache, pos, 1);
          this.release(cache);
          cache = out.present;
          logits = this.readRow(out.logits, 0);
          out.logits.dispose();
          pos++;
        }
      } finally {
        this.release(cache);
      }
    });
  }

  async score(promptIds: number[], continuations: number[][], temperature = 1): Promise<number[][]> {
    if (!(temperature >= 0) || !Number.isFinite(temperature)) {
      throw new InvalidArgumentError(`Temperature must be a finite number >= 0 (got ${temperature}).`);
    }
    const T = temperature === 0 ? 1 : temperature;
    this.checkPrompt(promptIds);
    const n = promptIds.length;
    const window = this.info.contextWindowTokens;
    if (n > window) throw new ContextTooLongError(n, window);
    for (const cont of continuations) {
      this.checkIds(cont, 'continuation');
      const needed = n + cont.length - 1;
      if (needed > window) throw new ContextTooLongError(needed, window, 'The prompt with its continuation');
    }

    return this.exclusive(async () => {
      const results: number[][] = continuations.map(() => []);
      if (continuations.every((c) => c.length === 0)) return results;
      const pre = await this.prefill(promptIds);
      if (!pre) throw new InterruptedError('Scoring');
      const promptCache = pre.cache;
      try {
        const first = pre.lastRow.slice();
        for (let i = 0; i < continuations.length; i++) {
          const c = continuations[i];
          if (c.length > 0) results[i].push(logProb(first, c[0], T));
        }
        // Continuations that need a forward call, longest first so batches pad little.
        const jobs = continuations
          .map((c, i) => ({ i, input: c.slice(0, -1), targets: c.slice(1) }))
          .filter((j) => j.input.length > 0)
          .sort((a, b) => b.input.length - a.input.length || a.i - b.i);
        if (jobs.length === 0) return results;

        const rows = this.rowBudget;
        const kvPerRowBytes = kvBytes(promptCache);
        const maxBatchByKv = Math.max(1, Math.floor(this.kvBudgetBytes / Math.max(1, kvPerRowBytes)));
        let hostCache: Kv | null = null; // the prompt cache on the CPU, for copying into batches
        const downloaded: TensorLike[] = [];
        for (let k = 0; k < jobs.length; ) {
          if (await this.pause()) throw new InterruptedError('Scoring');
          const longest = jobs[k].input.length;
          if (longest > rows) {
            await this.scoreLong(jobs[k], promptCache, n, T, results);
            k++;
            continue;
          }
          const batch = Math.max(1, Math.min(jobs.length - k, Math.floor(rows / longest), maxBatchByKv));
          const group = jobs.slice(k, k + batch);
          k += batch;
          let past = promptCache;
          let expanded = false;
          if (group.length > 1) {
            hostCache ??= await toHost(promptCache, this.parts.Tensor, downloaded);
            past = repeatBatch(hostCache, group.length, this.parts.Tensor);
            expanded = true;
          }
          const out = await this.forward(
            group.map((j) => j.input),
            group.map((j) => j.input.length),
            past,
            n,
            0,
          );
          if (expanded) this.release(past);
          this.release(out.present);
          for (let b = 0; b < group.length; b++) {
            const job = group[b];
            for (let t = 0; t < job.targets.length; t++) {
              const row = this.readRow(out.logits, b * longest + t);
              results[job.i].push(logProb(row, job.targets[t], T));
            }
          }
          out.logits.dispose();
        }
        for (const t of downloaded) t.dispose();
        return results;
      } finally {
        this.release(promptCache);
      }
    });
  }

  /** One continuation longer than the logits budget: extend its own cache chunk by chunk. */
  private async scoreLong(
    job: { i: number; input: number[]; targets: number[] },
    promptCache: Kv,
    n: number,
    T: number,
    results: number[][],
  ): Promise<void> {
    const rows = this.rowBudget;
    let cache = promptCache;
    try {
      for (let done = 0; done < job.input.length; ) {
        if (done > 0 && (await this.pause())) throw new InterruptedError('Scoring');
        const left = job.input.length - done;
        const take = Math.min(left, rows);
        const out = await this.forward([job.input.slice(done, done + take)], [take], cache, n + done, 0);
        if (cache !== promptCache) this.release(cache);
        cache = out.present;
        for (let t = 0; t < take; t++) results[job.i].push(logProb(this.readRow(out.logits, t), job.targets[done + t], T));
        out.logits.dispose();
        done += take;
      }
    } finally {
      if (cache !== promptCache) this.release(cache);
    }
  }

  interrupt(): void {
    if (this.running) this.interruptRequested = true;
  }

  counters(): EngineCounters {
    return { ...this.counts };
  }

  /** Padded positions computed by batched scoring calls since the last reset (not in the counters). */
  paddingTokens(): number {
    return this.padded;
  }

  resetCounters(): void {
    this.counts.prefillTokens = 0;
    this.counts.decodeSteps = 0;
    this.counts.forwardCalls = 0;
    this.padded = 0;
  }

  async dispose(): Promise<void> {
    this.interrupt();
    this.disposed = true;
    await this.parts.model.dispose?.();
  }

  private async exclusive<R>(work: () => Promise<R>): Promise<R> {
    if (this.running) {
      throw new PrecisError('EngineBusyError', 'The engine is busy with another request; wait for it or interrupt it.');
    }
    this.checkDevice();
    this.running = true;
    this.interruptRequested = false;
    this.lastYieldMs = nowMs();
    try {
      return await work();
    } catch (err) {
      // A failed GPU call after the device was lost is reported as the loss, by name.
      this.checkDevice();
      throw err;
    } finally {
      this.running = false;
      this.interruptRequested = false;
    }
  }

  private checkDevice(): void {
    if (this.lostReason !== null) {
      throw new DeviceLostError(
        `The GPU device was lost (${this.lostReason}), so ${this.info.id} on WebGPU cannot run any more. ` +
          'Everything saved so far is kept. Load the model again, or choose the wasm device to run it on the CPU.',
      );
    }
  }

  private async pause(): Promise<boolean> {
    if (this.interruptRequested) return true;
    if (nowMs() - this.lastYieldMs >= this.yieldIntervalMs) {
      await yieldToEventLoop();
      this.lastYieldMs = nowMs();
    }
    this.checkDevice();
    return this.interruptRequested;
  }

  /**
   * One forward call over B right-padded rows of new tokens after `pastLen` cached positions.
   * `keepLast` > 0 asks the graph (when it can) for only the last `keepLast` positions' logits.
   */
  private async forward(rows: number[][], lens: number[], past: Kv | null, pastLen: number, keepLast: number): Promise<ForwardOut> {
    const { Tensor } = this.parts;
    const B = rows.length;
    const L = Math.max(...lens);
    const ids = new BigInt64Array(B * L);
    const mask = new BigInt64Array(B * (pastLen + L));
    const pos = new BigInt64Array(B * L);
    let real = 0;
    for (let b = 0; b < B; b++) {
      const row = rows[b];
      for (let t = 0; t < L; t++) {
        // Padding repeats the row's last token: any valid id works, the mask hides it.
        ids[b * L + t] = BigInt(row[Math.min(t, row.length - 1)]);
        pos[b * L + t] = BigInt(pastLen + t);
      }
      const m = b * (pastLen + L);
      for (let j = 0; j < pastLen + lens[b]; j++) mask[m + j] = 1n;
      real += lens[b];
    }
    const inputs: Record<string, unknown> = {
      input_ids: new Tensor('int64', ids, [B, L]),
      attention_mask: new Tensor('int64', mask, [B, pastLen + L]),
      position_ids: new Tensor('int64', pos, [B, L]),
    };
    if (past && Object.keys(past).length > 0) inputs.past_key_values = past;
    if (this.keepLogitsInput) inputs.num_logits_to_keep = new Tensor('int64', BigInt64Array.from([BigInt(keepLast)]), []);
    this.counts.forwardCalls++;
    if (B * L === 1) this.counts.decodeSteps++;
    else this.counts.prefillTokens += real;
    this.padded += B * L - real;
    const out = await this.parts.model.forward(inputs);
    const present: Kv = {};
    for (const name of Object.keys(out)) {
      if (name.startsWith('present')) present[name.replace('present', 'past_key_values')] = out[name];
    }
    return { logits: out.logits, present };
  }

  /**
   * Prefill `ids` from position 0 in chunks (never a single-token chunk unless the prompt is one
   * token), keeping only the last position's logits. Null when interrupted.
   */
  private async prefill(ids: number[]): Promise<{ lastRow: Float64Array; cache: Kv } | null> {
    const chunk = Math.max(2, Math.min(this.chunkTokens, this.keepLogitsInput ? this.chunkTokens : this.rowBudget));
    let cache: Kv | null = null;
    let lastRow: Float64Array | null = null;
    try {
      for (let done = 0; done < ids.length; ) {
        const left = ids.length - done;
        const take = left <= chunk + 1 ? left : chunk;
        if (done > 0 && (await this.pause())) {
          this.release(cache);
          return null;
        }
        const out = await this.forward([ids.slice(done, done + take)], [take], cache, done, 1);
        this.release(cache);
        cache = out.present;
        const returned = out.logits.dims[1];
        lastRow = this.readRow(out.logits, returned - 1);
        out.logits.dispose();
        done += take;
      }
    } catch (err) {
      this.release(cache);
      throw err;
    }
    return { lastRow: lastRow!, cache: cache! };
  }

  /** Row r (flattened over batch and sequence) of a [B, L, V] logits tensor, as float64 in a reused buffer. */
  private readRow(logits: TensorLike, r: number): Float64Array {
    const V = this.info.vocabSize;
    const data = logits.data;
    const offset = r * V;
    const out = this.row;
    if (logits.type === 'float16' && data instanceof Uint16Array) {
      for (let i = 0; i < V; i++) out[i] = halfToFloat(data[offset + i]);
    } else {
      for (let i = 0; i < V; i++) out[i] = data[offset + i];
    }
    return out;
  }

  private release(cache: Kv | null): void {
    if (!cache) return;
    for (const t of Object.values(cache)) {
      try {
        t.dispose();
      } catch {
        // already released
      }
    }
  }

  private checkPrompt(promptIds: number[]): void {
    if (!Array.isArray(promptIds) || promptIds.length === 0) {
      throw new InvalidArgumentError('The prompt ids are empty; a prompt needs at least one token.');
    }
    this.checkIds(promptIds, 'prompt');
  }

  private checkIds(ids: number[], what: string): void {
    const vocab = this.info.vocabSize;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= vocab) {
        throw new InvalidArgumentError(`The ${what} holds token id ${id}, outside the vocabulary 0..${vocab - 1}.`);
      }
    }
  }
}

function kvBytes(cache: Kv): number {
  let bytes = 0;
  for (const t of Object.values(cache)) {
    const size = t.dims.reduce((a, b) => a * b, 1);
    bytes += size * (t.type === 'float16' ? 2 : 4);
  }
  return bytes;
}

/** The cache's data on the CPU (downloads GPU buffers once). */
async function toHost(cache: Kv, Tensor: TensorCtor, created: TensorLike[]): Promise<Kv> {
  const out: Kv = {};
  for (const [name, t] of Object.entries(cache)) {
    if (t.location === 'gpu-buffer' && t.ort_tensor?.getData) {
      const data = await t.ort_tensor.getData(false);
      out[name] = new Tensor(t.type, data, [...t.dims]);
      created.push(out[name]);
    } else {
      out[name] = t;
    }
  }
  return out;
}

/** Repeat a batch-1 cache B times along the batch axis (new CPU tensors). */
function repeatBatch(cache: Kv, B: number, Tensor: TensorCtor): Kv {
  const out: Kv = {};
  for (const [name, t] of Object.entries(cache)) {
    const src = t.data as unknown as { length: number; constructor: new (n: number) => { set(a: unknown, o: number): void } };
    const copy = new src.constructor(src.length * B);
    for (let b = 0; b < B; b++) copy.set(src, b * src.length);
    out[name] = new Tensor(t.type, copy, [B, ...t.dims.slice(1)]);
  }
  return out;
}
