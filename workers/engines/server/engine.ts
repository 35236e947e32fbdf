/**
 * The server engine: the Engine contract over HTTP, on vLLM's OpenAI-compatible server or
 * SGLang's native server (wire.ts has the formats and the versions they were checked against).
 *
 * - Tokenisation is the server's own (/tokenize, /detokenize; chat prompts through its chat
 *   template with `messages`), so prompt ids are exactly what the server scores.
 * - Generation is sampled ON THE SERVER with our temperature, top_p and seed (every other
 *   sampling knob neutralised); ModelInfo.sampler says so. Reproducibility then depends on the
 *   server (vLLM and SGLang honour a per-request seed).
 * - Scoring is teacher-forced prompt log-probs: vLLM echo (or prompt_logprobs), SGLang
 *   input_token_logprobs with logprob_start_len at the continuation start. Servers return
 *   log-softmax of the raw logits, so scoring is at temperature 1 only (ServerTemperatureError).
 * - All continuations of one context go out together, in list requests of `batchSize`
 *   sequences, at most `concurrency` requests in flight, so a prefix cache sees the shared
 *   context back to back.
 * - `connect()` checks the served model, reads max_model_len from /tokenize, and scores a known
 *   continuation: a server that returns fewer entries than tokens is refused with
 *   ServerCannotScoreError (use it to generate, with another scorer).
 */
import type {
  Engine,
  EngineCounters,
  GenerateResult,
  ModelInfo,
  Prompt,
  PromptStyle,
  SamplingSettings,
  TokenEvent,
} from '../../../src/lib/core/engine';
import { ContextTooLongError, InterruptedError, InvalidArgumentError, errorName } from '../../../src/lib/core/errors';
import {
  ServerCannotScoreError,
  ServerHttpError,
  ServerModelNotServedError,
  ServerResponseError,
  ServerTemperatureError,
} from '../../../src/lib/core/server-errors';
import { serverRoot } from '../../../src/lib/core/server-host';
import { ServerHttp, pooled } from './http';
import {
  EntryCountError,
  parseDetokenize,
  parseModelList,
  parseSglangGeneration,
  parseSglangScores,
  parseTokenize,
  parseVllmGeneration,
  parseVllmScores,
  sglangGenerateBody,
  sglangScoreBody,
  vllmGenerateBody,
  vllmScoreBody,
  type ServerGeneration,
  type SglangLogprobStart,
  type SglangScoreStats,
  type VllmScoring,
} from './wire';

export type ScoringServerKind = 'vllm' | 'sglang';

export interface ServerEngineConfig {
  kind: ScoringServerKind;
  /** e.g. http://127.0.0.1:8000 (a trailing /v1 is accepted). */
  baseURL: string;
  /** The model name the server serves (vLLM --served-model-name, SGLang --served-model-name). */
  servedModel: string;
  promptStyle: PromptStyle;
  apiKey?: string;
  /** Requests in flight at most (default: DEFAULT_CONCURRENCY[kind]). */
  concurrency?: number;
  /** Sequences per list request when scoring (default 16). */
  batchSize?: number;
  /** Per request (default 120 s). */
  timeoutMs?: number;
  /** vLLM: teacher forcing through echo (default) or prompt_logprobs. */
  vllmScoring?: VllmScoring;
  /**
   * SGLang: logprob_start_len at the continuation (default; keeps the context in the prefix
   * cache) or 'zero' (the paper's 0: no reuse). Same numbers either way.
   */
  sglangLogprobStart?: SglangLogprobStart;
  retries?: number;
  backoffMs?: number;
  fetch?: typeof fetch;
}

/** Requests in flight by default: enough to keep a continuous-batching server busy. */
export const DEFAULT_CONCURRENCY: Record<ScoringServerKind, number> = { vllm: 8, sglang: 8 };

/** Work a server engine sent, beyond the EngineCounters every engine reports. */
export interface ServerStats {
  requests: number;
  retries: number;
  /** Prompt tokens the server was asked to process (prompt + continuation per scored sequence). */
  tokensSent: number;
  /** Continuation tokens whose log-probs came back. */
  tokensScored: number;
  /** SGLang: prompt tokens served from its prefix cache (meta_info.cached_tokens). */
  cachedTokens: number;
  /** SGLang: which first-entry convention it answered with. */
  sglangConvention: SglangScoreStats['convention'];
  /**
   * How it is asked to score: vLLM's echo or prompt_logprobs ('sglang' for SGLang), and the
   * sequences per request (1 for a server the capability check found takes no list requests).
   */
  scoring: NonNullable<ModelInfo['serverScoring']>;
}

/**
 * The window assumed when neither /tokenize nor /v1/models reports max_model_len: large enough
 * never to cut a passage or a budget, so the server's own length check (a named 400) decides.
 */
export const UNKNOWN_WINDOW_TOKENS = 1 << 30;

/** A short known text and continuation used by the capability check. */
const PROBE_PROMPT = 'Once upon a time';
const PROBE_CONTINUATION = ' there was a little girl named Lily.';

/** A failure that may only mean "not in this form": the capability check then tries the next one. */
function isFormatFailure(err: unknown): boolean {
  if (err instanceof EntryCountError || errorName(err) === 'ServerResponseError') return true;
  return errorName(err) === 'ServerHttpError' && [400, 422, 500].includes((err as ServerHttpError).status);
}

const maxTokensRefused = (err: unknown) =>
  errorName(err) === 'ServerHttpError' && (err as ServerHttpError).status === 400 && /max_(new_)?tokens/i.test((err as Error).message);

export class ServerEngine implements Engine {
  info: ModelInfo;
  readonly host: string;
  private readonly http: ServerHttp;
  private readonly counts: EngineCounters = { prefillTokens: 0, decodeSteps: 0, forwardCalls: 0 };
  private readonly extra = { tokensSent: 0, tokensScored: 0 };
  private readonly sglang: SglangScoreStats = { cachedTokens: 0, convention: null };
  private scoreMaxTokens: 0 | 1 = 0;
  /** vLLM: the scoring form in use (the configured one, or what the capability check found). */
  private vllmScoring: VllmScoring;
  /** The server takes one sequence per scoring request (found by the capability check). */
  private singleSequence = false;
  private vllmIdsAsTokens = false;
  private charsPerToken = 4;
  /** Where tokenisation is asked for: the server's own paths, or a gateway's /v1 ones. */
  private tokenizerPaths = { tokenize: '/tokenize', detokenize: '/detokenize' };
  private interrupted = false;
  /** True during the capability check: entry-count problems mean "cannot score". */
  private probing = false;

  private constructor(readonly config: ServerEngineConfig) {
    this.vllmScoring = config.vllmScoring ?? 'echo';
    const { root, host } = serverRoot(config.baseURL);
    this.host = host;
    this.http = new ServerHttp({
      kind: config.kind,
      root,
      apiKey: config.apiKey,
      timeoutMs: config.timeoutMs ?? 120_000,
      retries: config.retries,
      backoffMs: config.backoffMs,
      fetch: config.fetch,
      model: config.servedModel,
    });
    this.info = {
      id: `${config.kind}:${config.servedModel}`,
      engine: 'server',
      promptStyle: config.promptStyle,
      contextWindowTokens: 0,
      vocabSize: 0,
      bosId: null,
      stopIds: [],
      sampler: 'server',
      serverHost: this.host,
    };
  }

  /** Connect, check the model and the server's ability to score; see the module note. */
  static async connect(config: ServerEngineConfig): Promise<ServerEngine> {
    if (config.servedModel.trim() === '') throw new InvalidArgumentError('Give the served model name.');
    const engine = new ServerEngine(config);
    const listed = await engine.checkModel();
    let probe;
    const notFound = (err: unknown) => errorName(err) === 'ServerHttpError' && (err as ServerHttpError).status === 404;
    try {
      probe = await engine.tokenizeRaw(PROBE_PROMPT, true);
    } catch (err) {
      if (!notFound(err)) throw err;
      // SGLang's Model Gateway (sglang_router) has no /tokenize: it tokenises itself at /v1/tokenize.
      engine.tokenizerPaths = { tokenize: '/v1/tokenize', detokenize: '/v1/detokenize' };
      try {
        probe = await engine.tokenizeRaw(PROBE_PROMPT, true);
      } catch (err2) {
        if (notFound(err2)) {
          throw new ServerCannotScoreError(engine.host, 'it has no /tokenize (nor /v1/tokenize) endpoint, so the ids it would score cannot be known');
        }
        throw err2;
      }
    }
    const bare = await engine.tokenizeRaw(PROBE_PROMPT, false);
    const bos = probe.tokens.length === bare.tokens.length + 1 ? probe.tokens[0] : null;
    const known = probe.maxModelLen ?? listed;
    // Without a reported max_model_len the server itself enforces its window (its 400 is
    // reported by name); the engine says so rather than refusing a server that can score.
    const window = known !== null && known > 0 ? known : UNKNOWN_WINDOW_TOKENS;
    engine.info = { ...engine.info, contextWindowTokens: window, bosId: bos, ...(window === UNKNOWN_WINDOW_TOKENS ? { windowUnknown: true } : {}) };
    engine.charsPerToken = Math.max(1, PROBE_PROMPT.length / Math.max(1, bare.tokens.length));
    await engine.checkScoring(probe.tokens);
    engine.info = { ...engine.info, serverScoring: engine.scoringForm() };
    return engine;
  }

  /**
   * The served model must be listed; returns its max_model_len when the list gives one. A server
   * without GET /v1/models (a native-API-only deployment answers 404 or 405) is not refused for
   * that: the model name is then checked by the server on every request.
   */
  private async checkModel(): Promise<number | null> {
    let answer: unknown;
    try {
      answer = await this.http.get('/v1/models');
    } catch (err) {
      if (errorName(err) === 'ServerHttpError' && [404, 405].includes((err as ServerHttpError).status)) return null;
      throw err;
    }
    const { ids, maxModelLen } = parseModelList(this.host, answer);
    if (!ids.includes(this.config.servedModel)) throw new ServerModelNotServedError(this.host, this.config.servedModel, ids);
    return maxModelLen.get(this.config.servedModel) ?? null;
  }

  /**
   * The capability check: score a known continuation whole and less its last token. Tried in
   * order until one works: the list request of the configured form; one sequence per request (a
   * server that takes no list requests); on vLLM, unless a scoring mode was chosen, the same with
   * prompt_logprobs instead of echo (a server without echo). Only answers that look like a format
   * problem (a 400, 422 or 500, an unreadable answer, a wrong number of entries) move on to the
   * next form; anything else (down, auth, a model not served) is reported at once. If none works,
   * the first failure is reported: too few entries as ServerCannotScoreError.
   */
  private async checkScoring(promptIds: number[]): Promise<void> {
    const continuation = await this.tokenize(PROBE_CONTINUATION);
    if (promptIds.length === 0 || continuation.length === 0) {
      throw new ServerCannotScoreError(this.host, 'its /tokenize returned no tokens for a non-empty text');
    }
    const modes: VllmScoring[] = this.config.kind === 'vllm' && this.config.vllmScoring === undefined ? ['echo', 'prompt_logprobs'] : [this.vllmScoring];
    let firstFailure: unknown = null;
    this.probing = true;
    try {
      for (const mode of modes) {
        for (const single of [false, true]) {
          this.vllmScoring = mode;
          this.singleSequence = single;
          try {
            const [a, b] = await this.score(promptIds, [continuation, continuation.slice(0, -1)]);
            // The same prefix must score the same under a shorter sequence (teacher forcing is causal).
            const prefixDiff = Math.max(...b.map((v, t) => Math.abs(v - a[t])));
            if (!(prefixDiff < 1e-3)) {
              throw new ServerCannotScoreError(this.host, `the log-probabilities of a shared prefix differ by ${prefixDiff.toFixed(4)} nats between two sequences`);
            }
            return;
          } catch (err) {
            if (!isFormatFailure(err)) throw err;
            firstFailure ??= err;
          }
        }
      }
      if (firstFailure instanceof EntryCountError) {
        throw new ServerCannotScoreError(this.host, `asked for ${firstFailure.expected} prompt log-probabilities, it returned ${firstFailure.got}`);
      }
      throw firstFailure;
    } finally {
      this.probing = false;
      this.resetCounters();
    }
  }

  private async tokenizeRaw(text: string, addSpecial: boolean) {
    return parseTokenize(this.host, await this.http.post(this.tokenizerPaths.tokenize, { model: this.config.servedModel, prompt: text, add_special_tokens: addSpecial }));
  }

  async tokenize(text: string): Promise<number[]> {
    return (await this.tokenizeRaw(text, false)).tokens;
  }

  async detokenize(ids: number[]): Promise<string> {
    if (ids.length === 0) return '';
    return parseDetokenize(this.host, await this.http.post(this.tokenizerPaths.detokenize, { model: this.config.servedModel, tokens: ids }));
  }

  /** A cheap count for cutting passages (chars per token measured on connect, with a margin). */
  estimateTokens(text: string): number {
    return Math.ceil((text.length / this.charsPerToken) * 1.15);
  }

  async promptIds(prompt: Prompt): Promise<number[]> {
    if (prompt.kind === 'plain') return (await this.tokenizeRaw(prompt.text, true)).tokens;
    try {
      const answer = await this.http.post(this.tokenizerPaths.tokenize, {
        model: this.config.servedModel,
        messages: prompt.messages,
        add_generation_prompt: true,
      });
      return parseTokenize(this.host, answer).tokens;
    } catch (err) {
      if (errorName(err) === 'ServerHttpError' && (err as ServerHttpError).status < 500) {
        throw new ServerResponseError(
          this.host,
          `its /tokenize does not apply the chat template to messages (${(err as Error).message}). Use the plain prompt style, or a vLLM server for chat prompts.`,
        );
      }
      throw err;
    }
  }

  private checkWindow(needed: number, what: string): void {
    const window = this.info.contextWindowTokens;
    if (window > 0 && needed > window) throw new ContextTooLongError(needed, window, what);
  }

  async generate(promptIds: number[], settings: SamplingSettings, onToken?: (event: TokenEvent) => void): Promise<GenerateResult> {
    this.interrupted = false;
    return this.generateInner(promptIds, settings, onToken);
  }

  private async generateInner(promptIds: number[], settings: SamplingSettings, onToken?: (event: TokenEvent) => void): Promise<GenerateResult> {
    if (promptIds.length === 0) throw new InvalidArgumentError('The prompt is empty.');
    this.checkWindow(promptIds.length + 1, 'The prompt');
    if (this.interrupted) return { ids: [], logprobsNats: [], stopReason: 'interrupted' };
    const maxTokens = Math.min(settings.maxTokens, this.info.contextWindowTokens - promptIds.length);
    let gen: ServerGeneration;
    try {
      gen = await this.generateOnce(promptIds, { ...settings, maxTokens });
    } catch (err) {
      if (errorName(err) === 'InterruptedError') return { ids: [], logprobsNats: [], stopReason: 'interrupted' };
      throw err;
    }
    this.counts.forwardCalls++;
    this.counts.prefillTokens += promptIds.length;
    this.counts.decodeSteps += gen.ids.length;
    gen.ids.forEach((id, index) => onToken?.({ id, text: gen.tokenTexts[index] ?? '', logprobNats: gen.logprobsNats[index], index }));
    return { ids: gen.ids, logprobsNats: gen.logprobsNats, stopReason: gen.stopReason };
  }

  private async generateOnce(promptIds: number[], s: SamplingSettings): Promise<ServerGeneration> {
    const { servedModel } = this.config;
    if (this.config.kind === 'sglang') {
      return parseSglangGeneration(this.host, await this.http.post('/generate', sglangGenerateBody(promptIds, s.maxTokens, s.temperature, s.topP, s.seed)));
    }
    const ask = async (idsAsTokens: boolean) =>
      parseVllmGeneration(
        this.host,
        await this.http.post('/v1/completions', vllmGenerateBody({ model: servedModel, promptIds, maxTokens: s.maxTokens, temperature: s.temperature, topP: s.topP, seed: s.seed, idsAsTokens })),
        idsAsTokens,
      );
    let gen: ServerGeneration | null = null;
    if (!this.vllmIdsAsTokens) {
      try {
        gen = await ask(false);
      } catch (err) {
        // A server that refuses the field `return_token_ids` outright (400) may still take the
        // older return_tokens_as_token_ids; any other failure is reported as it is.
        if (!(errorName(err) === 'ServerHttpError' && (err as ServerHttpError).status === 400)) throw err;
      }
    }
    if (!gen) {
      // An older vLLM without `token_ids`: ids come from "token_id:N" strings instead.
      this.vllmIdsAsTokens = true;
      gen = await ask(true);
    }
    if (!gen) {
      throw new ServerResponseError(
        this.host,
        'its completions answer gives the sampled tokens neither as ids ("token_ids", vLLM 0.10 and later) nor as "token_id:N" ' +
          '(return_tokens_as_token_ids), so the ids it sampled cannot be known exactly.',
      );
    }
    return gen;
  }

  /**
   * Many generations at once, at most `concurrency` in flight; `onResult` is called as each
   * finishes (and awaited before the next result is delivered). Used by runEstimate.
   */
  async generateMany(
    jobs: { promptIds: number[]; settings: SamplingSettings }[],
    onResult: (index: number, result: GenerateResult, tokenTexts: string[]) => void | Promise<void>,
  ): Promise<void> {
    this.interrupted = false;
    let chain: Promise<void> = Promise.resolve();
    await pooled(
      this.concurrency(),
      jobs.map((job, index) => async () => {
        const texts: string[] = [];
        const result = await this.generateInner(job.promptIds, job.settings, (e) => texts.push(e.text));
        chain = chain.then(() => onResult(index, result, texts));
        await chain;
      }),
    );
  }

  async score(promptIds: number[], continuations: number[][], temperature = 1): Promise<number[][]> {
    const [rows] = await this.scoreMany([{ promptIds, continuations }], temperature);
    return rows;
  }

  /**
   * Several prompts at once, each with its continuations: every list request of every prompt
   * goes into one queue (prompt by prompt, so each context's sequences still reach the server
   * back to back for its prefix cache) with at most `concurrency` in flight. `onJob(i)` is called
   * when all of prompt i's requests have answered. All-or-nothing, as `score`.
   */
  async scoreMany(jobs: { promptIds: number[]; continuations: number[][] }[], temperature = 1, onJob?: (index: number) => void): Promise<number[][][]> {
    if (temperature !== 1 && temperature !== 0) throw new ServerTemperatureError(temperature);
    for (const { promptIds, continuations } of jobs) {
      if (promptIds.length === 0) throw new InvalidArgumentError('The prompt is empty.');
      const longest = Math.max(0, ...continuations.map((c) => c.length));
      this.checkWindow(promptIds.length + longest, 'The prompt plus the continuation');
    }
    this.interrupted = false;
    const out: number[][][] = jobs.map((j) => j.continuations.map(() => []));
    const batch = this.sequencesPerRequest();
    const tasks: { job: number; rows: number[] }[] = [];
    const pending = jobs.map(() => 0);
    jobs.forEach(({ continuations }, job) => {
      const rows = continuations.map((_, r) => r).filter((r) => continuations[r].length > 0);
      for (let i = 0; i < rows.length; i += batch) tasks.push({ job, rows: rows.slice(i, i + batch) });
      pending[job] = Math.ceil(rows.length / batch);
    });
    try {
      await pooled(
        this.concurrency(),
        tasks.map(({ job, rows }) => async () => {
          const { promptIds, continuations } = jobs[job];
          const sequences = rows.map((r) => [...promptIds, ...continuations[r]]);
          const scores = await this.scoreSequences(sequences, promptIds.length);
          rows.forEach((r, k) => (out[job][r] = scores[k]));
          this.counts.forwardCalls++;
          this.extra.tokensSent += sequences.reduce((a, s) => a + s.length, 0);
          this.extra.tokensScored += rows.reduce((a, r) => a + continuations[r].length, 0);
          if (--pending[job] === 0) onJob?.(job);
        }),
      );
    } catch (err) {
      if (this.interrupted || errorName(err) === 'InterruptedError') throw new InterruptedError('Scoring');
      if (err instanceof EntryCountError && !this.probing) {
        throw new ServerResponseError(this.host, `asked for ${err.expected} log-probabilities, it returned ${err.got} (a different number of entries).`);
      }
      throw err;
    }
    jobs.forEach(({ promptIds, continuations }, job) => {
      if (!continuations.some((c) => c.length > 0)) onJob?.(job); // nothing to send: complete at once
      // Counters in the EngineCounters sense: every prompt is prefilled again per sequence unless
      // the server reuses its prefix cache (see serverStats().cachedTokens).
      this.counts.prefillTokens += continuations.reduce((a, c) => a + (c.length > 0 ? promptIds.length + c.length - 1 : 0), 0);
    });
    return out;
  }

  /** Sequences the engine keeps in flight when scoring: concurrency × list size. */
  scoringSequencesInFlight(): number {
    return this.concurrency() * this.sequencesPerRequest();
  }

  private scoringForm(): NonNullable<ModelInfo['serverScoring']> {
    return { mode: this.config.kind === 'sglang' ? 'sglang' : this.vllmScoring, sequencesPerRequest: this.sequencesPerRequest() };
  }

  private sequencesPerRequest(): number {
    return this.singleSequence ? 1 : Math.max(1, this.config.batchSize ?? 16);
  }

  private async scoreSequences(sequences: number[][], promptLength: number): Promise<number[][]> {
    const { kind, servedModel } = this.config;
    for (;;) {
      const maxTokens = this.scoreMaxTokens;
      try {
        if (kind === 'sglang') {
          const mode = this.config.sglangLogprobStart ?? 'continuation';
          return parseSglangScores(this.host, await this.http.post('/generate', sglangScoreBody(sequences, promptLength, maxTokens, mode)), sequences, promptLength, this.sglang, mode);
        }
        const mode = this.vllmScoring;
        return parseVllmScores(this.host, await this.http.post('/v1/completions', vllmScoreBody(servedModel, sequences, mode, maxTokens)), sequences, promptLength, mode);
      } catch (err) {
        // max_tokens 0 refused (older vLLM; SGLang variants): ask for one token and ignore it.
        if (maxTokens === 0 && maxTokensRefused(err)) {
          this.scoreMaxTokens = 1;
          continue;
        }
        throw err;
      }
    }
  }

  private concurrency(): number {
    return Math.max(1, Math.floor(this.config.concurrency ?? DEFAULT_CONCURRENCY[this.config.kind]));
  }

  interrupt(): void {
    this.interrupted = true;
    this.http.abortAll();
  }

  counters(): EngineCounters {
    return { ...this.counts };
  }

  resetCounters(): void {
    this.counts.prefillTokens = 0;
    this.counts.decodeSteps = 0;
    this.counts.forwardCalls = 0;
    this.extra.tokensSent = 0;
    this.extra.tokensScored = 0;
    this.sglang.cachedTokens = 0;
    this.http.stats.requests = 0;
    this.http.stats.retries = 0;
  }

  serverStats(): ServerStats {
    return {
      requests: this.http.stats.requests,
      retries: this.http.stats.retries,
      tokensSent: this.extra.tokensSent,
      tokensScored: this.extra.tokensScored,
      cachedTokens: this.sglang.cachedTokens,
      sglangConvention: this.sglang.convention,
      scoring: this.scoringForm(),
    };
  }

  async dispose(): Promise<void> {
    this.http.abortAll();
  }
}
