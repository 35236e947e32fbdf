/**
 * The web-llm compressor engine: implements the Engine contract on top of a `WebLlmBackend`
 * (web-llm's MLCEngine in the real app, a fake in tests) and the `LogitCapture` processor.
 *
 * Invariants:
 * - Every call that touches the model runs under one mutex (web-llm only locks its chat API;
 *   `forwardTokensAndSample` and `resetChat` interleaved with another call corrupt the KV cache).
 *   `interrupt()` bypasses it and is honoured at the next token boundary.
 * - Generation and scoring use the same prompt ids (`promptIds()` applies the model's chat
 *   template once) and the same float64 log-softmax of the raw logits, so a generated id's
 *   log-prob equals its forced-decoding score up to kernel rounding.
 * - Prompt reuse: the prompt is prefilled once per `score()` call; after each continuation the
 *   KV cache is rolled back to the prompt when the backend can (`popKv`), else the prompt is
 *   prefilled again (counted in the counters).
 * - The all-positions path is used only after `verifyFastPath()` found it within
 *   `FAST_PATH_RMS_TOLERANCE_NATS` (root mean square) and `FAST_PATH_TOLERANCE_NATS` (largest)
 *   of forced decoding on this model, in calls of at most
 *   `backend.verifyMaxRows` positions.
 * - A lost GPU device surfaces as `DeviceLostError` from every call (load check, generate, score),
 *   never as web-llm's ModelNotLoadedError or a failed read-back, and never as a silent success.
 */
import type {
  Engine,
  EngineCounters,
  EngineLoadReport,
  GenerateResult,
  ModelInfo,
  Prompt,
  SamplingSettings,
  StopReason,
  TokenEvent,
} from '../../../src/lib/core/engine';
import { ContextTooLongError, InterruptedError, InvalidArgumentError } from '../../../src/lib/core/errors';
import { validateSamplingSettings } from '../../../src/lib/core/sampling';
import { DeviceLostError } from '../../../src/lib/webgpu/errors';
import { Mutex } from '../../mutex';
import type { WebLlmBackend } from './backend';
import { chatPromptIds, isThinkingModel } from './chat-template';
import { LogitCapture, rowLogProb, rowsLogProb } from './logit-capture';
import { TextStream } from './text-stream';

/**
 * Tolerances of the all-positions path against forced decoding, per token (nats). Chosen from
 * what the MI estimate needs, not from bit-equality; the README ("web-llm scoring paths") has
 * the reasoning. Kernel rounding enters the estimate through the root mean square of the
 * per-token differences, so that is what is held to a tolerance; the largest single difference
 * only has to rule out a broken path (a shifted row or a stale cache differs by tenths of a nat
 * or more). f16 kernels that order the same sums differently differ by about 1e-3 to 1e-2 nats
 * per token (one f16 step of a logit between 16 and 32 is 0.016).
 */
export const FAST_PATH_RMS_TOLERANCE_NATS = 1e-2;
export const FAST_PATH_TOLERANCE_NATS = 5e-2;

/**
 * Largest difference between two scorings of the same continuation with a KV roll-back in
 * between. Same kernels on the same inputs give the same bits on a GPU; a roll-back that leaves a
 * stale token changes scores by tenths of a nat.
 */
export const PROMPT_REUSE_TOLERANCE_NATS = 1e-6;

export interface FastPathStatus {
  /** The model library exposes an all-positions forward. */
  available: boolean;
  /** The KV cache can roll back, so one prompt prefill serves every continuation. */
  promptReuse: boolean;
  verified: boolean;
  /** Largest per-token difference found by the check, in nats. */
  maxAbsDiffNats: number | null;
  /** Root mean square of the per-token differences, in nats. */
  rmsDiffNats: number | null;
  used: boolean;
  /** Positions per all-positions call (0 when it is not used). */
  maxRows: number;
  note: string;
  /** Why prompt reuse is on or off. */
  promptReuseNote: string;
}

/** A fixed probe for the fast-path check: a short chat prompt and a continuation. */
export const FAST_PATH_PROBE = {
  messages: [
    { role: 'system' as const, content: 'You compress documents.' },
    { role: 'user' as const, content: 'Summarise: The committee met on Tuesday and approved the new budget after a long debate.' },
  ],
  // Short (about 20 tokens): the check runs at every load; on a software adapter a token takes seconds.
  continuation: 'The committee met on Tuesday and, after a long debate, approved the new budget.',
};

export class WebLlmEngine implements Engine {
  private readonly base: ModelInfo;
  private readonly lock = new Mutex();
  private interrupted = false;
  private readonly count: EngineCounters = { prefillTokens: 0, decodeSteps: 0, forwardCalls: 0 };
  private fast: FastPathStatus;
  private disposed = false;
  /** KV roll-back is trusted until the self-check shows it changes scores. */
  private reuseOk: boolean;
  private checked = false;

  constructor(
    private readonly backend: WebLlmBackend,
    private readonly capture: LogitCapture,
    notes: { popKv?: string; verify?: string } = {},
  ) {
    const stopIds = [...new Set(backend.conv.stop_token_ids)];
    this.base = {
      id: backend.modelId,
      engine: 'webllm',
      promptStyle: 'chat',
      contextWindowTokens: backend.contextWindowTokens,
      vocabSize: backend.vocabSize,
      bosId: backend.conv.system_prefix_token_ids?.[0] ?? null,
      stopIds,
    };
    this.reuseOk = !!backend.popKv;
    this.fast = {
      available: !!backend.verifyAllPositions,
      promptReuse: !!backend.popKv,
      verified: false,
      maxAbsDiffNats: null,
      rmsDiffNats: null,
      used: false,
      maxRows: 0,
      note: backend.verifyAllPositions
        ? 'not checked yet'
        : `the all-positions path is not available${notes.verify ? ` (${notes.verify})` : ''}; scoring uses forced decoding`,
      promptReuseNote: backend.popKv
        ? 'not checked yet'
        : `no KV roll-back${notes.popKv ? ` (${notes.popKv})` : ''}; the prompt is prefilled again for each continuation`,
    };
  }

  /** Model info, with the load report once the self-check ran. */
  get info(): ModelInfo {
    return this.checked ? { ...this.base, loadReport: this.loadReport() } : this.base;
  }

  fastPathStatus(): FastPathStatus {
    return { ...this.fast };
  }

  loadReport(): EngineLoadReport {
    return {
      promptReuse: this.fast.promptReuse,
      promptReuseNote: this.fast.promptReuseNote,
      fastPath: this.fast.used,
      fastPathNote: this.fast.note,
      fastPathMaxDiffNats: this.fast.maxAbsDiffNats,
      fastPathToleranceNats: FAST_PATH_TOLERANCE_NATS,
      fastPathRmsDiffNats: this.fast.rmsDiffNats,
      fastPathRmsToleranceNats: FAST_PATH_RMS_TOLERANCE_NATS,
    };
  }

  tokenize(text: string): number[] {
    return this.backend.encode(text);
  }

  detokenize(ids: number[]): string {
    return this.backend.decode(ids);
  }

  /**
   * `chat`: the model's template (see chat-template.ts); Qwen3 models get an empty thinking block
   * so they answer directly. `plain`: the template's prefix ids (BOS for Llama) then the text, as
   * web-llm's text completion would see it after BOS.
   */
  promptIds(prompt: Prompt): number[] {
    const conv = this.backend.conv;
    if (prompt.kind === 'plain') return [...(conv.system_prefix_token_ids ?? []), ...this.backend.encode(prompt.text)];
    return chatPromptIds(conv, prompt.messages, (t) => this.backend.encode(t), { disableThinking: isThinkingModel(this.backend.modelId) });
  }

  interrupt(): void {
    this.interrupted = true;
  }

  counters(): EngineCounters {
    return { ...this.count };
  }

  resetCounters(): void {
    this.count.prefillTokens = 0;
    this.count.decodeSteps = 0;
    this.count.forwardCalls = 0;
  }

  async dispose(): Promise<void> {
    await this.lock.run(async () => {
      if (this.disposed) return;
      this.disposed = true;
      await this.backend.unload();
    });
  }

  generate(promptIds: number[], settings: SamplingSettings, onToken?: (event: TokenEvent) => void): Promise<GenerateResult> {
    return this.lock.run(() =>
      this.mapLost(async () => {
        this.interrupted = false;
        validateSamplingSettings(settings, 1);
        if (promptIds.length === 0) throw new InvalidArgumentError('The prompt is empty.');
        const window = this.base.contextWindowTokens;
        if (promptIds.length + 1 > window) throw new ContextTooLongError(promptIds.length + 1, window);
        const budget = Math.min(settings.maxTokens, window - promptIds.length);
        const stops = new Set(this.base.stopIds);
        const ids: number[] = [];
        const logprobsNats: number[] = [];
        const text = new TextStream((x) => this.backend.decode(x));
        let stopReason: StopReason = 'length';
        await this.backend.resetChat();
        this.capture.startSampling(settings.temperature, settings.topP, settings.seed);
        try {
          let input = promptIds;
          while (ids.length < budget) {
            if (this.interrupted) {
              stopReason = 'interrupted';
              break;
            }
            const sampled = await this.forward(input);
            const mine = this.capture.lastSample;
            if (!mine || sampled !== mine.id) {
              throw new Error(`web-llm sampled id ${sampled} but the processor chose ${mine?.id ?? 'nothing'}; the sampling settings were overridden.`);
            }
            ids.push(mine.id);
            logprobsNats.push(mine.logprobNats);
            const isStop = stops.has(mine.id);
            onToken?.({ id: mine.id, text: isStop ? '' : text.push(mine.id), logprobNats: mine.logprobNats, index: ids.length - 1 });
            if (isStop) {
              stopReason = 'stop';
              break;
            }
            input = [mine.id];
          }
        } finally {
          this.capture.setMode({ kind: 'pass' });
        }
        return { ids, logprobsNats, stopReason };
      }),
    );
  }

  score(promptIds: number[], continuations: number[][], temperature = 1): Promise<number[][]> {
    return this.lock.run(() =>
      this.mapLost(async () => {
        this.interrupted = false;
        return this.scoreUnlocked(promptIds, continuations, temperature, this.fast.used);
      }),
    );
  }

  /**
   * Self-check once per loaded model (engine.ts calls it right after loading):
   * 1. prompt reuse: score the probe continuation twice with one prompt prefill and a KV
   *    roll-back in between; if the second score differs, roll-back is switched off;
   * 2. the all-positions path: compare it with forced decoding and use it only when the root mean
   *    square and the largest per-token difference are within their tolerances (both recorded).
   * Then it waits for the GPU's pending errors (`backend.settle`): a device lost during the check
   * (tvmjs destroys it asynchronously after a buffer it could not create) throws
   * `DeviceLostError` instead of reporting a working engine.
   */
  verifyFastPath(probe: { promptIds: number[]; continuation: number[] } = this.defaultProbe()): Promise<FastPathStatus> {
    return this.lock.run(() =>
      this.mapLost(async () => {
        this.checked = true;
        if (!this.backend.verifyAllPositions && !this.backend.popKv) return this.fastPathStatus();
        this.interrupted = false;
        let error: unknown = null;
        try {
          await this.runChecks(probe);
        } catch (err) {
          error = err;
        } finally {
          this.capture.setMode({ kind: 'pass' });
        }
        await this.backend.settle?.();
        const lost = this.backend.deviceLost?.();
        if (lost) throw lostError(this.base.id, `${lost}, while checking the scoring paths`);
        if (error) {
          this.reuseOk = false;
          this.fast = {
            ...this.fast,
            promptReuse: false,
            promptReuseNote: `the scoring self-check failed (${messageOf(error)}); the prompt is prefilled again for each continuation`,
            verified: !!this.backend.verifyAllPositions,
            used: false,
            maxRows: 0,
            note: `the scoring self-check failed (${messageOf(error)}); using plain forced decoding`,
          };
        }
        await this.backend.resetChat();
        return this.fastPathStatus();
      }),
    );
  }

  private async runChecks(probe: { promptIds: number[]; continuation: number[] }): Promise<void> {
    const twice = await this.scoreUnlocked(probe.promptIds, [probe.continuation, probe.continuation], 1, false);
    if (this.backend.popKv) {
      const reuseDiff = maxAbsDiff(twice[0], twice[1]);
      if (reuseDiff > PROMPT_REUSE_TOLERANCE_NATS) {
        this.reuseOk = false;
        this.fast = {
          ...this.fast,
          promptReuse: false,
          promptReuseNote: `KV roll-back changed scores by ${reuseDiff.toExponential(2)} nats; the prompt is prefilled again for each continuation`,
        };
      } else {
        this.fast = { ...this.fast, promptReuse: true, promptReuseNote: 'KV roll-back checked: one prompt prefill serves every continuation' };
      }
    }
    if (!this.backend.verifyAllPositions) return;
    let maxDiff = Number.NaN;
    let rmsDiff = Number.NaN;
    let failure: string | null = null;
    try {
      const [quick] = await this.scoreUnlocked(probe.promptIds, [probe.continuation], 1, true);
      maxDiff = maxAbsDiff(twice[0], quick);
      rmsDiff = rmsDiffOf(twice[0], quick);
    } catch (err) {
      if (err instanceof Error && err.name === 'DeviceLostError') throw err;
      failure = messageOf(err);
    }
    const ok = maxDiff <= FAST_PATH_TOLERANCE_NATS && rmsDiff <= FAST_PATH_RMS_TOLERANCE_NATS;
    const rows = this.verifyRows();
    const measured = `rms difference ${rmsDiff.toExponential(2)}, largest ${maxDiff.toExponential(2)} nats per token`;
    const limits = `tolerances ${FAST_PATH_RMS_TOLERANCE_NATS.toExponential(0)} rms, ${FAST_PATH_TOLERANCE_NATS.toExponential(0)} largest`;
    this.fast = {
      ...this.fast,
      verified: true,
      maxAbsDiffNats: Number.isNaN(maxDiff) ? null : maxDiff,
      rmsDiffNats: Number.isNaN(rmsDiff) ? null : rmsDiff,
      used: ok,
      maxRows: ok ? rows : 0,
      note:
        failure !== null
          ? `all-positions scoring failed (${failure}); using forced decoding`
          : ok
            ? `all-positions scoring agrees with forced decoding (${measured}; ${limits}); using it, ${rows} positions per call`
            : `all-positions scoring differs from forced decoding too much (${measured}; ${limits}); using forced decoding`,
    };
  }

  private defaultProbe(): { promptIds: number[]; continuation: number[] } {
    return { promptIds: this.promptIds({ kind: 'chat', messages: FAST_PATH_PROBE.messages }), continuation: this.tokenize(FAST_PATH_PROBE.continuation) };
  }

  private verifyRows(): number {
    return Math.max(1, Math.min(this.backend.verifyMaxRows ?? this.backend.prefillChunkTokens, this.backend.prefillChunkTokens));
  }

  /** Run `fn`; a failure on a lost device becomes DeviceLostError whatever web-llm threw. */
  private async mapLost<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const name = err instanceof Error ? err.name : '';
      if (['DeviceLostError', 'InterruptedError', 'InvalidArgumentError', 'ContextTooLongError'].includes(name)) throw err;
      // A failed GPU call may be the first sign of a loss that `device.lost` reports a moment later.
      await this.backend.settle?.().catch(() => undefined);
      const lost = this.backend.deviceLost?.();
      if (lost) throw lostError(this.base.id, lost);
      // web-llm unloads the model itself when the GPU device is lost after loading; later calls
      // then fail with its ModelNotLoadedError.
      if (err instanceof Error && err.name === 'ModelNotLoadedError') throw lostError(this.base.id, 'web-llm no longer has the model loaded');
      throw err;
    }
  }

  private async forward(ids: number[]): Promise<number> {
    const sampled = await this.backend.forwardTokensAndSample(ids, ids.length > 1);
    this.count.forwardCalls++;
    if (ids.length > 1) this.count.prefillTokens += ids.length;
    else this.count.decodeSteps++;
    return sampled;
  }

  private checkInterrupt(): void {
    if (this.interrupted) throw new InterruptedError('Scoring');
  }

  private async scoreUnlocked(promptIds: number[], continuations: number[][], temperature: number, useFast: boolean): Promise<number[][]> {
    if (promptIds.length === 0) throw new InvalidArgumentError('The prompt is empty.');
    const window = this.base.contextWindowTokens;
    const longest = continuations.reduce((m, c) => Math.max(m, c.length), 0);
    if (promptIds.length + longest > window) throw new ContextTooLongError(promptIds.length + longest, window, 'The prompt plus the continuation');
    const t = temperature > 0 ? temperature : 1;
    const out: number[][] = [];
    let promptRow: Float64Array | null = null;
    let promptKv = 0;
    const prefillPrompt = async () => {
      await this.backend.resetChat();
      this.capture.setMode({ kind: 'capture' });
      await this.forward(promptIds);
      promptRow = this.capture.lastRow;
      promptKv = this.backend.kvLength();
    };
    try {
      for (let c = 0; c < continuations.length; c++) {
        this.checkInterrupt();
        const z = continuations[c];
        if (z.length === 0) {
          out.push([]);
          continue;
        }
        // The prompt is in the cache from the previous continuation only if we rolled back.
        if (!promptRow || !this.reuseOk) await prefillPrompt();
        if (!promptRow) throw new Error('web-llm did not pass the prompt logits to the processor.');
        const lps = [rowLogProb(promptRow, z[0], t)];
        const feed = z.slice(0, -1);
        if (useFast && this.backend.verifyAllPositions && feed.length > 0) {
          await this.scoreAllPositions(feed, z, t, lps);
        } else {
          for (let i = 0; i < feed.length; i++) {
            this.checkInterrupt();
            await this.forward([feed[i]]);
            const row = this.capture.lastRow;
            if (!row) throw new Error('web-llm did not pass the logits to the processor.');
            lps.push(rowLogProb(row, z[i + 1], t));
          }
        }
        out.push(lps);
        if (this.reuseOk) this.backend.popKv!(this.backend.kvLength() - promptKv);
      }
    } finally {
      this.capture.setMode({ kind: 'pass' });
    }
    return out;
  }

  /** Score `z[1..]` from all-positions rows, in calls of at most `verifyRows()` positions. */
  private async scoreAllPositions(feed: number[], z: number[], t: number, lps: number[]): Promise<void> {
    const verify = this.backend.verifyAllPositions!;
    const chunk = this.verifyRows();
    for (let start = 0; start < feed.length; start += chunk) {
      this.checkInterrupt();
      const ids = feed.slice(start, start + chunk);
      const { rows, rowLength } = await verify(ids);
      this.count.forwardCalls++;
      this.count.prefillTokens += ids.length;
      // Read each row in place (float64 arithmetic on the float32 values): no per-row copy.
      for (let i = 0; i < ids.length; i++) lps.push(rowsLogProb(rows, i * rowLength, rowLength, z[start + i + 1], t));
    }
  }
}

function lostError(modelId: string, reason: string): DeviceLostError {
  return new DeviceLostError(`The GPU dropped ${modelId}: ${reason}. This usually means it ran out of memory. Load the model again, or pick a smaller one.`);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function rmsDiffOf(a: number[], b: number[]): number {
  if (a.length !== b.length || a.length === 0) return Number.POSITIVE_INFINITY;
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  const r = Math.sqrt(sum / a.length);
  return Number.isNaN(r) ? Number.POSITIVE_INFINITY : r;
}

function maxAbsDiff(a: number[], b: number[]): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return m;
}

