/**
 * The reference engine: a pure-TypeScript llama2.c model behind the Engine contract.
 *
 * Owns one model (weights + key/value cache) and its tokenizer. Every generate/score call starts
 * from position 0 of the cache, so an interrupted or failed call can never leave state that
 * changes the next call's numbers. Long work is chopped into forward calls of at most
 * `prefillChunkTokens` tokens, and the loop yields to the event loop about every
 * `yieldIntervalMs` so an interrupt() message can land (see yield.ts).
 *
 * Conventions (documented choices):
 * - Prompts: plain -> [BOS, ...encode(text)]; chat -> the message contents joined by a blank
 *   line ("\n\n") and treated as plain text (story models have no chat template).
 * - Window: the model conditions on at most seq_len positions. A generate prompt may hold up to
 *   seq_len ids; generation ends with 'length' once the last position is used (the token sampled
 *   from the final position is still returned). score() forwards the prompt and every
 *   continuation token but the last, so it needs prompt + continuation - 1 <= seq_len; beyond
 *   that it throws ContextTooLongError. Nothing is ever truncated silently.
 * - Log-probs: float64 log-softmax of logits / T; greedy (T = 0) is reported at T = 1; top-p
 *   does not change the reported value (see sampler.ts).
 * - detokenize(ids) follows llama2.c: a piece loses its leading space only right after BOS, so
 *   detokenize(tokenize(s)) is " " + s and detokenize(promptIds(s)) is s.
 */
import type {
  Engine,
  EngineCounters,
  GenerateResult,
  ModelInfo,
  Prompt,
  SamplingSettings,
  StopReason,
  TokenEvent,
} from '../../../src/lib/core/engine';
import {
  ContextTooLongError,
  InterruptedError,
  InvalidArgumentError,
  PrecisError,
} from '../../../src/lib/core/errors';
import { validateSamplingSettings } from '../../../src/lib/core/sampling';
import { parseCheckpoint, type LlamaConfig } from './checkpoint';
import { LlamaModel, type WantLogits } from './model';
import { Mulberry32, logProb, logSumExp, sample } from './sampler';
import { BOS_ID, EOS_ID, TokenTextStream, Tokenizer, parseTokenizer } from './tokenizer';
import { nowMs, yieldToEventLoop } from './yield';

/** Weights of a llama2.c checkpoint: embedding, per-layer attention and FFN, norms, classifier. */
function parameterCount(c: LlamaConfig): number {
  const perLayer = 2 * c.dim + 2 * c.dim * c.dim + 2 * c.dim * c.kvDim + 3 * c.dim * c.hiddenDim;
  return c.vocabSize * c.dim + c.nLayers * perLayer + c.dim + (c.sharedClassifier ? 0 : c.vocabSize * c.dim);
}

export interface ReferenceEngineOptions {
  /** Yield to the event loop after this much uninterrupted work (0 = after every forward call). */
  yieldIntervalMs?: number;
  /** Largest forward call of a prefill (default 32, ~7 ms here); smaller calls mean finer interrupt points. */
  prefillChunkTokens?: number;
}

export class ReferenceEngine implements Engine {
  readonly info: ModelInfo;
  private readonly counts: EngineCounters = { prefillTokens: 0, decodeSteps: 0, forwardCalls: 0 };
  private readonly yieldIntervalMs: number;
  private readonly chunkTokens: number;
  private running = false;
  private interruptRequested = false;
  private lastYieldMs = 0;

  constructor(
    name: string,
    readonly model: LlamaModel,
    readonly tokenizer: Tokenizer,
    options: ReferenceEngineOptions = {},
  ) {
    const c = model.config;
    this.info = {
      id: `reference:${name}`,
      engine: 'reference',
      promptStyle: 'plain',
      contextWindowTokens: c.seqLen,
      vocabSize: c.vocabSize,
      bosId: BOS_ID,
      stopIds: [EOS_ID],
      architecture: {
        parameterCount: parameterCount(c),
        layers: c.nLayers,
        attentionDim: c.nHeads * c.headSize,
      },
    };
    this.yieldIntervalMs = options.yieldIntervalMs ?? 8;
    this.chunkTokens = Math.max(2, options.prefillChunkTokens ?? 32);
  }

  /** Parse a checkpoint and its tokenizer (CheckpointFormatError / TokenizerMismatchError). */
  static fromBytes(
    name: string,
    checkpoint: ArrayBuffer,
    tokenizer: ArrayBuffer,
    options?: ReferenceEngineOptions,
  ): ReferenceEngine {
    const parsed = parseCheckpoint(checkpoint);
    const tok = parseTokenizer(tokenizer, parsed.config.vocabSize);
    return new ReferenceEngine(name, new LlamaModel(parsed), tok, options);
  }

  tokenize(text: string): number[] {
    return this.tokenizer.encode(text);
  }

  detokenize(ids: number[]): string {
    this.checkIds(ids, 'detokenize');
    return this.tokenizer.decode(ids, null);
  }

  promptIds(prompt: Prompt): number[] {
    const text = prompt.kind === 'plain' ? prompt.text : prompt.messages.map((m) => m.content).join('\n\n');
    return [BOS_ID, ...this.tokenizer.encode(text)];
  }

  async generate(
    promptIds: number[],
    settings: SamplingSettings,
    onToken?: (event: TokenEvent) => void,
  ): Promise<GenerateResult> {
    validateSamplingSettings(settings);
    const { temperature, topP, maxTokens, seed } = settings;
    this.checkPrompt(promptIds);
    const seqLen = this.model.config.seqLen;
    if (promptIds.length > seqLen) throw new ContextTooLongError(promptIds.length, seqLen);

    return this.exclusive(async () => {
      const ids: number[] = [];
      const logprobsNats: number[] = [];
      const done = (stopReason: StopReason): GenerateResult => ({ ids, logprobsNats, stopReason });
      if (maxTokens === 0) return done('length');
      let logits = await this.prefill(promptIds, 0, 'last');
      if (!logits) return done('interrupted');
      const rng = new Mulberry32(seed);
      const text = new TokenTextStream(this.tokenizer, promptIds[promptIds.length - 1]);
      let pos = promptIds.length;
      for (;;) {
        const { id, logprobNats } = sample(logits, temperature, topP, rng);
        ids.push(id);
        logprobsNats.push(logprobNats);
        onToken?.({ id, text: text.push(id), logprobNats, index: ids.length - 1 });
        if (this.info.stopIds.includes(id)) return done('stop');
        if (ids.length >= maxTokens || pos >= seqLen) return done('length');
        if (await this.pause()) return done('interrupted');
        logits = this.forward([id], pos, 'last');
        pos++;
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
    const seqLen = this.model.config.seqLen;
    if (n > seqLen) throw new ContextTooLongError(n, seqLen);
    for (const cont of continuations) {
      this.checkIds(cont, 'continuation');
      const needed = n + cont.length - 1;
      if (needed > seqLen) throw new ContextTooLongError(needed, seqLen, 'The prompt with its continuation');
    }

    return this.exclusive(async () => {
      const vocab = this.model.config.vocabSize;
      if (continuations.every((c) => c.length === 0)) return continuations.map(() => []);
      const promptLogits = await this.prefill(promptIds, 0, 'last');
      if (!promptLogits) throw new InterruptedError('Scoring');
      const first = promptLogits.slice(); // the 'last' view is reused by later forward calls
      const firstLse = logSumExp(first, T);
      const results: number[][] = [];
      for (const cont of continuations) {
        if (cont.length === 0) {
          results.push([]);
          continue;
        }
        const out = [first[cont[0]] / T - firstLse];
        if (cont.length > 1) {
          // Starting at position n rolls the cache back to the prompt.
          const all = await this.prefill(cont.slice(0, -1), n, 'all');
          if (!all) throw new InterruptedError('Scoring');
          for (let k = 1; k < cont.length; k++) out.push(logProb(all, cont[k], T, (k - 1) * vocab, vocab));
        }
        results.push(out);
        if (await this.pause()) throw new InterruptedError('Scoring');
      }
      return results;
    });
  }

  interrupt(): void {
    // Only a running call can be interrupted; an idle interrupt must not cancel the next call.
    if (this.running) this.interruptRequested = true;
  }

  counters(): EngineCounters {
    return { ...this.counts };
  }

  resetCounters(): void {
    this.counts.prefillTokens = 0;
    this.counts.decodeSteps = 0;
    this.counts.forwardCalls = 0;
  }

  async dispose(): Promise<void> {
    this.interrupt();
  }

  /** One call at a time; interrupt flags live exactly as long as the call. */
  private async exclusive<R>(work: () => Promise<R>): Promise<R> {
    if (this.running) {
      throw new PrecisError('EngineBusyError', 'The engine is busy with another request; wait for it or interrupt it.');
    }
    this.running = true;
    this.interruptRequested = false;
    this.lastYieldMs = nowMs();
    try {
      return await work();
    } finally {
      this.running = false;
      this.interruptRequested = false;
    }
  }

  /** Yield when the time slice is used up; true when an interrupt has been requested. */
  private async pause(): Promise<boolean> {
    if (this.interruptRequested) return true;
    if (nowMs() - this.lastYieldMs >= this.yieldIntervalMs) {
      await yieldToEventLoop();
      this.lastYieldMs = nowMs();
    }
    return this.interruptRequested;
  }

  private forward(tokens: number[], startPos: number, want: WantLogits): Float64Array {
    this.counts.forwardCalls++;
    if (tokens.length === 1) this.counts.decodeSteps++;
    else this.counts.prefillTokens += tokens.length;
    return this.model.forward(tokens, startPos, want);
  }

  /**
   * Forward `ids` at startPos.. in chunks, pausing between chunks. Chunks are never a single
   * token unless `ids` is (so the counters classify a prefill as prefill). Returns null when
   * interrupted; 'all' concatenates every chunk's logits.
   */
  private async prefill(ids: number[], startPos: number, want: WantLogits): Promise<Float64Array | null> {
    const vocab = this.model.config.vocabSize;
    const all = want === 'all' ? new Float64Array(ids.length * vocab) : null;
    let logits: Float64Array | null = null;
    for (let done = 0; done < ids.length; ) {
      const left = ids.length - done;
      const take = left <= this.chunkTokens + 1 ? left : this.chunkTokens;
      if (done > 0 && (await this.pause())) return null;
      logits = this.forward(ids.slice(done, done + take), startPos + done, want);
      if (all) all.set(logits, done * vocab);
      done += take;
    }
    return all ?? logits;
  }

  private checkPrompt(promptIds: number[]): void {
    if (!Array.isArray(promptIds) || promptIds.length === 0) {
      throw new InvalidArgumentError('The prompt ids are empty; a prompt needs at least BOS.');
    }
    this.checkIds(promptIds, 'prompt');
  }

  private checkIds(ids: number[], what: string): void {
    const vocab = this.model.config.vocabSize;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= vocab) {
        throw new InvalidArgumentError(`The ${what} holds token id ${id}, outside the vocabulary 0..${vocab - 1}.`);
      }
    }
  }
}
