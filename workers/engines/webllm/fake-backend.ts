/**
 * A fake of the slice of web-llm the engine uses, for tests: a deterministic toy "model" whose
 * next-token logits depend on every id in the KV cache, driven exactly the way web-llm drives a
 * LogitProcessor (processLogits on the raw row, its own sampler on the returned row,
 * processSampledToken, resetState on resetChat). No GPU, no network.
 */
import type { WebLlmBackend } from './backend';
import type { ConvTemplateLike } from './chat-template';
import type { LogitCapture } from './logit-capture';

export const FAKE_ALPHABET = 'abcdefghijklmno';
export const FAKE_STOP_ID = 15;
/** Row length is longer than the tokenizer vocabulary, as with padded vocabularies. */
export const FAKE_ROW_LENGTH = 20;

export const CHATML: ConvTemplateLike = {
  system_template: '<|im_start|>system\n{system_message}<|im_end|>\n',
  system_message: 'You are a helpful assistant.',
  roles: { user: '<|im_start|>user', assistant: '<|im_start|>assistant', tool: '<|im_start|>user' },
  seps: ['<|im_end|>\n'],
  role_content_sep: '\n',
  role_empty_sep: '\n',
  stop_str: ['<|im_end|>'],
  stop_token_ids: [FAKE_STOP_ID],
};

/** The toy model: logits of the next token after `seq` (float32, like the GPU). */
export function fakeLogits(seq: readonly number[]): Float32Array {
  let h = seq.length * 0.37;
  for (let i = 0; i < seq.length; i++) h += Math.sin((seq[i] + 1) * (i + 1) * 0.61);
  const row = new Float32Array(FAKE_ROW_LENGTH);
  for (let k = 0; k < FAKE_ROW_LENGTH; k++) row[k] = k >= 16 ? -30 : 2.5 * Math.sin(k * 1.3 + h) + (k === FAKE_STOP_ID ? -1.5 : 0);
  return row;
}

/** The three kernels of a compiled model library whose logits web-llm or internals.ts read. */
export type Kernel = 'prefill' | 'decode' | 'verify';
const KERNEL_INDEX: Record<Kernel, number> = { prefill: 1, decode: 2, verify: 3 };

/**
 * The toy model as one kernel computes it: `fakeLogits(seq)` times (1 + relNoise * u), u in
 * [-1, 1] from a hash of (seed, kernel, the whole sequence, k). Deterministic for the same kernel
 * and input, as GPU kernels are; different kernels round differently. relNoise 1e-3 is about what
 * f16 accumulation in differently tiled kernels gives (f16 has 11 significant bits, 2^-11 = 4.9e-4).
 */
export function kernelLogits(seq: readonly number[], kernel: Kernel, relNoise: number, seed = 1): Float32Array {
  const row = fakeLogits(seq);
  if (relNoise === 0) return row;
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ KERNEL_INDEX[kernel]) >>> 0;
  for (let i = 0; i < seq.length; i++) h = Math.imul(h ^ (seq[i] + 1), 0x01000193) >>> 0;
  h = Math.imul(h ^ seq.length, 0x85ebca6b) >>> 0;
  for (let k = 0; k < row.length; k++) {
    let x = Math.imul(h ^ (k + 1), 0xc2b2ae35) >>> 0;
    x ^= x >>> 15;
    x = Math.imul(x, 0x2c1b3c6d) >>> 0;
    x ^= x >>> 12;
    const u = (x >>> 0) / 4294967295 * 2 - 1;
    row[k] = row[k] * (1 + relNoise * u);
  }
  return row;
}

export interface FakeOptions {
  /** Relative noise between the prefill, decode and verify kernels (default 1e-3; 0: bit-identical). */
  kernelNoise?: number;
  contextWindowTokens?: number;
  popKv?: boolean;
  /** Give the backend an all-positions verify function, off from forced decoding by `verifyBias`. */
  verify?: boolean;
  verifyBias?: number;
  prefillChunkTokens?: number;
  /** A roll-back that leaves one stale token behind (to test the self-check). */
  brokenPop?: boolean;
  /** Called before each forward, e.g. to interrupt mid-call. */
  onForward?: (ids: number[]) => void;
}

export class FakeWebLlm implements WebLlmBackend {
  readonly modelId = 'Fake-Instruct-q4f32_1-MLC';
  readonly contextWindowTokens: number;
  readonly conv = CHATML;
  readonly vocabSize = 16;
  readonly prefillChunkTokens: number;
  kv: number[] = [];
  busy = false;
  overlaps = 0;
  unloaded = false;
  private readonly noise: number;
  popKv?: (n: number) => void;
  verifyAllPositions?: (ids: number[]) => Promise<{ rows: Float32Array; rowLength: number }>;
  verifyMaxRows?: number;
  /** Set by a test to play a lost GPU device. */
  lostReason: string | null = null;
  deviceLost = (): string | null => this.lostReason;

  constructor(
    private readonly processor: LogitCapture,
    private readonly opts: FakeOptions = {},
  ) {
    this.noise = opts.kernelNoise ?? 1e-3;
    this.contextWindowTokens = opts.contextWindowTokens ?? 64;
    this.prefillChunkTokens = opts.prefillChunkTokens ?? 8;
    if (opts.popKv !== false) {
      this.popKv = (n: number) => {
        if (n < 0 || n > this.kv.length) throw new Error(`bad pop ${n}`);
        this.kv.length -= this.opts.brokenPop && n > 0 ? n - 1 : n;
      };
    }
    if (opts.verify) {
      this.verifyAllPositions = async (ids: number[]) => {
        if (ids.length > this.prefillChunkTokens) throw new Error('chunk too long');
        const rows = new Float32Array(ids.length * FAKE_ROW_LENGTH);
        for (let i = 0; i < ids.length; i++) {
          this.kv.push(ids[i]);
          const row = kernelLogits(this.kv, 'verify', this.noise);
          for (let k = 0; k < FAKE_ROW_LENGTH; k++) rows[i * FAKE_ROW_LENGTH + k] = row[k] + (k % 2 === 0 ? (this.opts.verifyBias ?? 0) : 0);
        }
        return { rows, rowLength: FAKE_ROW_LENGTH };
      };
    }
  }

  encode(text: string): number[] {
    // One id per character: letters map to their index, anything else to 0.
    return [...text].map((ch) => Math.max(0, FAKE_ALPHABET.indexOf(ch.toLowerCase())));
  }

  decode(ids: number[]): string {
    return ids.map((id) => (id < FAKE_ALPHABET.length ? FAKE_ALPHABET[id] : '')).join('');
  }

  async forwardTokensAndSample(ids: number[], _isPrefill: boolean): Promise<number> {
    if (this.busy) this.overlaps++;
    this.busy = true;
    try {
      this.opts.onForward?.(ids);
      if (this.kv.length + ids.length > this.contextWindowTokens) throw new Error('KV cache overflow');
      this.kv.push(...ids);
      await Promise.resolve();
      const out = this.processor.processLogits(kernelLogits(this.kv, ids.length > 1 ? 'prefill' : 'decode', this.noise));
      // web-llm's GPU sampler at T = 1, top_p = 1 on the returned row; a one-hot row leaves one choice.
      let best = 0;
      for (let k = 1; k < out.length; k++) if (out[k] > out[best]) best = k;
      this.processor.processSampledToken(best);
      return best;
    } finally {
      this.busy = false;
    }
  }

  async resetChat(): Promise<void> {
    this.kv = [];
    this.processor.resetState();
  }

  kvLength(): number {
    return this.kv.length;
  }

  async unload(): Promise<void> {
    this.unloaded = true;
  }
}
