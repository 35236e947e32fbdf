/**
 * Estimate orchestration over any Engine: sample M compressions of each of N contexts, score
 * every compression under every context, and assemble the MI estimate (estimator.ts).
 *
 * Schedule (ESTIMATOR.md §2 and §5):
 * 1. Prompt ids per context from the compression template (prompts.ts) in the engine's prompt
 *    style; each must leave room for maxTokens in the model's window (ContextTooLongError).
 * 2. Generation: context-major (i, then j), the k-th sample (k = i*M + j) seeded with
 *    sampleSeed(settings.seed, k) so samples differ and a run is reproducible. Each finished
 *    compression goes to `onCompression` at once, so the caller can save it. An engine with
 *    `generateMany` (a server) gets every missing sample at once and runs them in parallel;
 *    each still goes to `onCompression` as it finishes (in completion order, one at a time).
 * 3. Scoring: for each context l, ONE `engine.score(promptIds_l, allCompressionIds, T)` call, so
 *    the context is prefilled once and reused for every compression. T is the sampling
 *    temperature (engines score T = 0 at T = 1). Ids are the sampler's own, never re-tokenised,
 *    except on the proxy path below.
 *
 * Proxy path (`options.compressor`, a generate-only server such as Ollama): the compressor
 * writes each compression from the chat template; the engine is then only the scorer. Each
 * finished text is re-tokenised by the scorer at once (scorerIds, the step the sweep's fixed
 * scorer uses), so what onCompression saves is what gets scored; prompts are the scorer's own
 * template, checked before generation for a maxTokens compression and again before scoring for
 * the longest re-tokenised one. The result's modelId is the compressor's, scorerModelId the
 * scorer's. Resume, cancel and interrupt behave as above (interrupt both the compressor and
 * the scorer).
 *
 * Edge cases (documented choices):
 * - An empty compression (zero ids: possible only with an engine that stops without emitting a
 *   stop id) has log-prob 0 (the empty sum) under every context, so its term is exactly 0 and its
 *   per-token information is []. It is flagged `empty` and still counts in the mean, because the
 *   channel did produce it.
 * - A compression cut by the token budget (stopReason 'length') has no stop token: what was
 *   produced is scored as is and flagged `truncated`.
 *
 * Cancellation is a normal outcome, returned, not thrown: set `hooks.signal.aborted = true` and
 * call `engine.interrupt()` (the signal covers the moments between engine calls, the interrupt the
 * call that is running). The outcome is then `{ status: 'cancelled', phase, compressions }`, where
 * `compressions` are exactly the finished ones already passed to `onCompression` (a compression
 * interrupted mid-generation is dropped, never delivered). Scoring is all-or-nothing: a cancel
 * while scoring returns every generated compression and no scores. Pass finished compressions
 * back as `request.resume` to continue without generating them again (the caller must only
 * resume with the same contexts, question, template and settings, or the estimate mixes
 * channels). Engine failures other than an interrupt, and errors thrown by `onCompression`
 * (e.g. storage full), are thrown.
 */
import type {
  Engine,
  EngineCounters,
  GenerateResult,
  Prompt,
  PromptStyle,
  SamplingSettings,
  StopReason,
  TokenEvent,
} from './engine';
import { ContextTooLongError, InvalidArgumentError, errorName } from './errors';
import {
  NotEnoughContextsError,
  compressionTermNats,
  pointwiseInformationNats,
  summarizeTerms,
  type MiSummary,
} from './estimator';
import { COMPRESSION_TEMPLATE_VERSION, compressionPrompt } from './prompts';
import { sampleSeed } from './rng';
import type { TextCompressor, TextGeneration } from './text-compressor';

export interface EstimateRequest {
  /** The bank: N >= 2 contexts (chunks); every compression is scored under each of them. */
  contexts: string[];
  /** The shared question q (may be empty: the template then asks for a general compression). */
  question: string;
  /** M: compressions sampled per context, a whole number >= 1. */
  samplesPerContext: number;
  /** topP = 1 is recommended so the sampled channel is the scored one (ESTIMATOR.md §2). */
  settings: SamplingSettings;
  /** Ask for exactly this many sentences (chat-style templates only). */
  sentenceBudget?: number;
  /**
   * Compressions finished earlier with the same request (e.g. saved before a cancel). They are
   * not generated again nor re-delivered to onCompression.
   */
  resume?: GeneratedCompression[];
  /**
   * Generate the compressions and stop: no scoring, no estimate. Allowed with a single context,
   * for a run whose bank is too small to measure (MI needs N >= 2; the caller says so instead of
   * printing a number).
   */
  generateOnly?: boolean;
}

export interface GeneratedCompression {
  /** Index of the source context i in the bank. */
  context: number;
  /** Which of the M samples of that context (j). */
  sample: number;
  /** The seed it was sampled with. */
  seed: number;
  /** Decoded text of `ids` as the engine streamed it. */
  text: string;
  /** The text each id added (same length as ids; empty for stop ids or partial UTF-8). */
  tokenTexts: string[];
  /** The sampler's ids, including the stop id when stopReason is 'stop'. */
  ids: number[];
  /** ln p of each id as sampled (nats, before top-p truncation). */
  logprobsNats: number[];
  stopReason: StopReason;
  /** Cut by maxTokens (no stop token); scored as produced. */
  truncated: boolean;
  /** No ids at all; its term is 0 by definition (see module note). */
  empty: boolean;
  /**
   * Written by a generate-only compressor (EstimateOptions.compressor): `ids` are then the
   * scorer's re-tokenisation of `text` (scorerIds), `logprobsNats` the scorer's log-probs of
   * them under the source context, and this holds what the server itself reported.
   */
  generator?: { generatedTokens: number | null; logprobsNats: number[] | null };
}

export interface ScoredCompression extends GeneratedCompression {
  /** s_ijl for each context l: sum of the teacher-forced log-probs of ids under context l (nats). */
  scoresNats: number[];
  /** term_ij = s_iji - logsumexp_l s_ijl + ln N (nats), at most ln N. */
  termNats: number;
  /** Per-token information (nats), the exact chain-rule split: sums to termNats. */
  pmiNats: number[];
}

export type EstimatePhase = 'generating' | 'scoring';

export interface EstimateProgress {
  phase: EstimatePhase;
  /** Generating: compressions finished (resumed ones included); scoring: contexts scored. */
  done: number;
  total: number;
  /** Seconds left in this phase at the rate so far; null before the first item finishes. */
  etaSeconds: number | null;
}

/** Structurally an AbortSignal's `aborted`; any object with that flag works. */
export interface CancelSignal {
  readonly aborted: boolean;
}

export interface EstimateHooks {
  onProgress?(progress: EstimateProgress): void;
  onToken?(contextIndex: number, sampleIndex: number, event: TokenEvent): void;
  /** Called (and awaited) the moment each compression finishes, before the next starts. */
  onCompression?(compression: GeneratedCompression): void | Promise<void>;
  signal?: CancelSignal;
  /** Clock in ms (default Date.now); injectable for tests. */
  now?: () => number;
}

export interface EstimateCounters {
  generation: EngineCounters;
  scoring: EngineCounters;
}

export interface EstimateTimings {
  generationMs: number;
  scoringMs: number;
}

export interface EstimateResult {
  status: 'done';
  /** The compressor that sampled the compressions. */
  modelId: string;
  /** The model whose log-probs were used to score (the compressor itself, or the proxy scorer). */
  scorerModelId: string;
  /** A generate-only compressor wrote the compressions (modelId is its id); the engine only scored. */
  compressor?: { id: string; host: string };
  promptStyle: PromptStyle;
  templateVersion: string;
  question: string;
  sentenceBudget: number | null;
  samplesPerContext: number;
  settings: SamplingSettings;
  /** The exact prompt ids each context's compressions were sampled from and scored under. */
  contexts: { promptIds: number[] }[];
  /** Context-major: index i*M + j. */
  compressions: ScoredCompression[];
  summary: MiSummary;
  flags: { truncated: number; empty: number };
  /** Plain-words caveats about this estimate's settings (e.g. top_p < 1), for display. */
  warnings: string[];
  /** Engine work in each phase of this call (resumed compressions cost nothing here). */
  counters: EstimateCounters;
  timings: EstimateTimings;
}

export interface EstimateCancelled {
  status: 'cancelled';
  phase: EstimatePhase;
  /** Every finished compression (resumed ones included), context-major. */
  compressions: GeneratedCompression[];
  counters: EstimateCounters;
  timings: EstimateTimings;
}

/** A `generateOnly` request finished: compressions, no estimate. */
export interface EstimateGenerated {
  status: 'generated';
  modelId: string;
  compressor?: { id: string; host: string };
  promptStyle: PromptStyle;
  templateVersion: string;
  contexts: { promptIds: number[] }[];
  compressions: GeneratedCompression[];
  counters: EstimateCounters;
  timings: EstimateTimings;
}

export type EstimateOutcome = EstimateResult | EstimateCancelled | EstimateGenerated;

function diffCounters(after: EngineCounters, before: EngineCounters): EngineCounters {
  return {
    prefillTokens: after.prefillTokens - before.prefillTokens,
    decodeSteps: after.decodeSteps - before.decodeSteps,
    forwardCalls: after.forwardCalls - before.forwardCalls,
  };
}

function validate(request: EstimateRequest): void {
  const n = request.contexts.length;
  if (n < (request.generateOnly ? 1 : 2)) throw new NotEnoughContextsError(n);
  const m = request.samplesPerContext;
  if (!Number.isInteger(m) || m < 1) {
    throw new InvalidArgumentError(`Samples per context must be a whole number >= 1 (got ${m}).`);
  }
  const maxTokens = request.settings.maxTokens;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new InvalidArgumentError(`The token budget must be a whole number >= 1 (got ${maxTokens}).`);
  }
}

function warningsFor(settings: SamplingSettings): string[] {
  const warnings: string[] = [];
  if (settings.topP < 1) {
    warnings.push(
      `top_p is ${settings.topP}: compressions were drawn from a truncated distribution but scored under the full one, ` +
        'so the estimate describes a slightly different channel. Use top_p = 1 for the channel that is scored.',
    );
  }
  if (settings.temperature === 0) {
    warnings.push('Greedy sampling (temperature 0): every sample of a context is the same, and scores are taken at temperature 1.');
  }
  return warnings;
}

/** Prompt ids per context, each checked to leave room for maxTokens in the window. */
export async function buildPromptIds(engine: Engine, request: EstimateRequest): Promise<number[][]> {
  return promptIdsFor(engine, request.contexts, request.question, request.settings.maxTokens, request.sentenceBudget);
}

/**
 * Prompt ids of T(x_l, q) for every context l, each checked to leave room for a `maxTokens`
 * compression in the engine's window (ContextTooLongError names the context and the model).
 * Shared by the run flow and the sweep (which also builds scorer prompts with it).
 */
export async function promptIdsFor(
  engine: Engine,
  contexts: readonly string[],
  question: string,
  maxTokens: number,
  sentenceBudget?: number,
): Promise<number[][]> {
  const window = engine.info.contextWindowTokens;
  const out: number[][] = [];
  for (let l = 0; l < contexts.length; l++) {
    const prompt = compressionPrompt(engine.info.promptStyle, contexts[l], question, { sentenceBudget });
    const ids = await engine.promptIds(prompt);
    // Every compression (up to maxTokens ids) is scored under every context, so each prompt
    // must hold the longest possible compression, not just its own.
    if (ids.length + maxTokens > window) {
      throw new ContextTooLongError(
        ids.length + maxTokens,
        window,
        `Context ${l + 1} with its prompt and a ${maxTokens}-token compression (model ${engine.info.id})`,
      );
    }
    out.push(ids);
  }
  return out;
}

const ZERO_COUNTERS: EngineCounters = { prefillTokens: 0, decodeSteps: 0, forwardCalls: 0 };

/** What to generate: prompt ids per context (from promptIdsFor), M, settings, earlier results. */
export interface GenerationPlan {
  promptIds: number[][];
  samplesPerContext: number;
  settings: SamplingSettings;
  resume?: GeneratedCompression[];
}

export interface GenerationOutcome {
  status: 'done' | 'cancelled';
  /** Every finished compression (resumed ones included), context-major. */
  compressions: GeneratedCompression[];
  counters: EngineCounters;
  generationMs: number;
}

/** A finished sample before it is placed: everything but its slot and seed. */
type Produced = Omit<GeneratedCompression, 'context' | 'sample' | 'seed'>;

/**
 * Where samples come from: an Engine sampling ids (generateCompressions) or a generate-only
 * compressor whose text the scorer re-tokenises (the proxy path of runEstimate). `one` and
 * `many` resolve null / report null for a sample that was interrupted.
 */
interface SampleSource {
  counters(): EngineCounters;
  one(context: number, settings: SamplingSettings, onToken: (event: TokenEvent) => void): Promise<Produced | null>;
  many?(
    jobs: { context: number; settings: SamplingSettings }[],
    onResult: (index: number, produced: Produced | null) => Promise<void>,
  ): Promise<void>;
}

/**
 * Generation (step 2 of the schedule): context-major, compression k = i*M + j seeded with
 * sampleSeed(settings.seed, k); each one goes to `hooks.onCompression` (awaited) the moment it
 * finishes. Resumed compressions are kept and not generated again. Used by runEstimate and the
 * sweep.
 */
export async function generateCompressions(
  engine: Engine,
  plan: GenerationPlan,
  hooks: EstimateHooks = {},
): Promise<GenerationOutcome> {
  const produce = async (result: GenerateResult, texts: string[]): Promise<Produced | null> => {
    if (result.stopReason === 'interrupted') return null;
    const streamed = texts.length === result.ids.length;
    const tokenTexts: string[] = [];
    if (streamed) tokenTexts.push(...texts);
    else for (const id of result.ids) tokenTexts.push(await engine.detokenize([id]));
    return {
      text: streamed ? texts.join('') : await engine.detokenize(result.ids),
      tokenTexts,
      ids: result.ids,
      logprobsNats: result.logprobsNats,
      stopReason: result.stopReason,
      truncated: result.stopReason === 'length',
      empty: result.ids.length === 0,
    };
  };
  const generateMany = engine.generateMany?.bind(engine);
  const source: SampleSource = {
    counters: () => engine.counters(),
    async one(i, settings, onToken) {
      const texts: string[] = [];
      const result = await engine.generate(plan.promptIds[i], settings, (event) => {
        texts.push(event.text);
        onToken(event);
      });
      return produce(result, texts);
    },
    many: generateMany
      ? (jobs, onResult) =>
          generateMany(
            jobs.map((job) => ({ promptIds: plan.promptIds[job.context], settings: job.settings })),
            async (index, result, texts) => onResult(index, await produce(result, texts)),
          )
      : undefined,
  };
  return generateSlots(source, plan.promptIds.length, plan, hooks);
}

/** The slot bookkeeping, seeds, progress and cancellation shared by every SampleSource. */
async function generateSlots(
  source: SampleSource,
  n: number,
  plan: Omit<GenerationPlan, 'promptIds'>,
  hooks: EstimateHooks,
): Promise<GenerationOutcome> {
  const now = hooks.now ?? Date.now;
  const m = plan.samplesPerContext;
  const settings = plan.settings;
  const slots: (GeneratedCompression | null)[] = new Array(n * m).fill(null);
  for (const c of plan.resume ?? []) {
    if (!(c.context >= 0 && c.context < n && c.sample >= 0 && c.sample < m)) {
      throw new InvalidArgumentError(`A resumed compression (context ${c.context}, sample ${c.sample}) is outside this run.`);
    }
    slots[c.context * m + c.sample] = c;
  }
  const finished = () => slots.filter((c): c is GeneratedCompression => c !== null);
  const startMs = now();
  const before = source.counters();
  const total = n * m;
  const alreadyDone = finished().length;
  let done = alreadyDone;
  const progress = () => {
    const rateDone = done - alreadyDone;
    const etaSeconds = rateDone > 0 ? ((now() - startMs) / rateDone) * (total - done) / 1000 : null;
    hooks.onProgress?.({ phase: 'generating', done, total, etaSeconds });
  };
  const end = (status: 'done' | 'cancelled'): GenerationOutcome => ({
    status,
    compressions: finished(),
    counters: diffCounters(source.counters(), before),
    generationMs: now() - startMs,
  });
  progress();
  const finish = async (i: number, j: number, seed: number, produced: Produced) => {
    const compression: GeneratedCompression = { context: i, sample: j, seed, ...produced };
    slots[i * m + j] = compression;
    await hooks.onCompression?.(compression);
    done++;
    progress();
  };
  if (source.many) {
    // Parallel (a server): every missing sample at once; each is saved as it finishes.
    if (hooks.signal?.aborted) return end('cancelled');
    const jobs: { i: number; j: number; seed: number }[] = [];
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) if (!slots[i * m + j]) jobs.push({ i, j, seed: sampleSeed(settings.seed, i * m + j) });
    let interrupted = false;
    await source.many(
      jobs.map((job) => ({ context: job.i, settings: { ...settings, seed: job.seed } })),
      async (index, produced) => {
        if (produced === null || hooks.signal?.aborted) {
          interrupted = true;
          return;
        }
        const { i, j, seed } = jobs[index];
        produced.ids.forEach((id, t) => hooks.onToken?.(i, j, { id, text: produced.tokenTexts[t] ?? '', logprobNats: produced.logprobsNats[t], index: t }));
        await finish(i, j, seed, produced);
      },
    );
    if (interrupted) return end('cancelled');
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const k = i * m + j;
      if (slots[k]) continue;
      if (hooks.signal?.aborted) return end('cancelled');
      const seed = sampleSeed(settings.seed, k);
      const produced = await source.one(i, { ...settings, seed }, (event) => hooks.onToken?.(i, j, event));
      if (produced === null) return end('cancelled');
      await finish(i, j, seed, produced);
    }
  }
  return end('done');
}

/**
 * One scoring group: continuations (by index into the `ids` list given to scoreUnderContexts)
 * that are all scored under the same prompts, one prompt per context of the bank. The run flow
 * has one group (one shared question); a sweep with one question per item has one group per
 * item (T(x_l, q_i) for every l).
 */
export interface ScoringGroup {
  /** promptIds[l]: the prompt of context l for this group. */
  promptIds: number[][];
  /** Indices into `ids`. */
  members: number[];
}

export interface ScoringOutcome {
  status: 'done' | 'cancelled';
  /** perToken[k][l]: per-token log-probs of continuation k under context l of its group (nats). */
  perToken: number[][][];
  counters: EngineCounters;
  scoringMs: number;
}

/** Length of the longest common prefix of several id lists. */
function commonPrefixLength(lists: readonly number[][]): number {
  if (lists.length === 0) return 0;
  let n = Math.min(...lists.map((l) => l.length));
  for (const l of lists) {
    let i = 0;
    while (i < n && l[i] === lists[0][i]) i++;
    n = i;
  }
  return n;
}

/**
 * Scoring (step 3 of the schedule): for each context l, ONE `engine.score(prefix_l, ...)` call
 * over every compression of every group, so the context is prefilled once and reused. With one
 * group the prefix is the whole prompt. With several groups (one question per item) the prefix
 * is the part their prompts share (the template up to the question: BOS and the context), and
 * each continuation is the rest of its own group's prompt followed by the compression; only the
 * compression's log-probs are kept. Teacher forcing makes that the same number as scoring under
 * the full prompt. Empty compressions are not sent (their log-probs are []). All-or-nothing: a
 * cancel returns status 'cancelled' and no usable rows. Used by runEstimate and the sweep.
 */
export async function scoreUnderContexts(
  engine: Engine,
  ids: readonly number[][],
  groups: readonly ScoringGroup[],
  temperature: number,
  hooks: EstimateHooks = {},
): Promise<ScoringOutcome> {
  const now = hooks.now ?? Date.now;
  const startMs = now();
  const before = engine.counters();
  const n = groups.length > 0 ? groups[0].promptIds.length : 0;
  if (groups.some((g) => g.promptIds.length !== n)) throw new InvalidArgumentError('Every scoring group needs one prompt per context.');
  const perToken: number[][][] = ids.map(() => []);
  for (const g of groups) for (const k of g.members) perToken[k] = new Array<number[]>(n).fill([]);
  let done = 0;
  const end = (status: 'done' | 'cancelled'): ScoringOutcome => ({
    status,
    perToken,
    counters: diffCounters(engine.counters(), before),
    scoringMs: now() - startMs,
  });
  const progress = () => {
    const etaSeconds = done > 0 ? ((now() - startMs) / done) * (n - done) / 1000 : null;
    hooks.onProgress?.({ phase: 'scoring', done, total: n, etaSeconds });
  };
  progress();
  /** Context l's scoring call: the shared prefix, and what each continuation's row is for. */
  const jobOf = (l: number) => {
    const prompts = groups.map((g) => g.promptIds[l]);
    // Keep at least one prompt token before every continuation (its first log-prob needs one).
    const shared = Math.max(1, Math.min(commonPrefixLength(prompts), ...prompts.map((p) => p.length)));
    const prefix = prompts[0].slice(0, shared);
    const sent: { k: number; lead: number }[] = [];
    const continuations: number[][] = [];
    groups.forEach((g, gi) => {
      const rest = prompts[gi].slice(shared);
      for (const k of g.members) {
        if (ids[k].length === 0) continue;
        sent.push({ k, lead: rest.length });
        continuations.push(rest.length ? [...rest, ...ids[k]] : ids[k]);
      }
    });
    return { l, prefix, sent, continuations };
  };
  type Job = ReturnType<typeof jobOf>;
  const keep = (job: Job, rows: number[][]) => {
    job.sent.forEach(({ k, lead }, r) => {
      perToken[k][job.l] = lead ? rows[r].slice(lead) : rows[r];
    });
  };
  // An engine that scores many requests at once (a server) gets several contexts per call, so
  // its requests stay in flight across context boundaries; the others get one context per call.
  const perContext = Math.max(1, groups.reduce((a, g) => a + g.members.length, 0));
  const wave = engine.scoreMany ? Math.max(1, Math.ceil((2 * (engine.scoringSequencesInFlight?.() ?? perContext)) / perContext)) : 1;
  for (let first = 0; first < n; first += wave) {
    if (hooks.signal?.aborted) return end('cancelled');
    const jobs: Job[] = [];
    for (let l = first; l < Math.min(n, first + wave); l++) jobs.push(jobOf(l));
    const live = jobs.filter((j) => j.continuations.length > 0);
    try {
      if (engine.scoreMany && live.length > 0) {
        const rows = await engine.scoreMany(
          live.map((j) => ({ promptIds: j.prefix, continuations: j.continuations })),
          temperature,
          () => {
            done++;
            progress();
          },
        );
        live.forEach((j, i) => keep(j, rows[i]));
      } else {
        for (const job of live) keep(job, await engine.score(job.prefix, job.continuations, temperature));
      }
    } catch (err) {
      if (errorName(err) === 'InterruptedError') return end('cancelled');
      throw err;
    }
    // Contexts scoreMany already reported (onJob) are not counted again.
    done += engine.scoreMany ? jobs.length - live.length : jobs.length;
    progress();
  }
  return end('done');
}

/** s_l, the term and the per-token split of one compression from its per-token rows (nats). */
export function termsOf(perToken: number[][], source: number): { scoresNats: number[]; termNats: number; pmiNats: number[] } {
  const scoresNats = perToken.map((row) => row.reduce((a, b) => a + b, 0));
  return {
    scoresNats,
    termNats: compressionTermNats(scoresNats, source),
    pmiNats: pointwiseInformationNats(perToken, source),
  };
}

/**
 * The proxy-scorer step: a compression's TEXT re-tokenised by the scorer's own tokenizer, plus
 * the scorer's first stop id when the compression ended with a stop (so "the text ended here"
 * is scored too). Shared by the sweep's fixed scorer and runEstimate with a generate-only
 * compressor: these are exactly the ids that get scored.
 */
export async function scorerIds(scorer: Engine, text: string, stopReason: StopReason | string): Promise<number[]> {
  const ids = [...(await scorer.tokenize(text))];
  if (stopReason === 'stop' && scorer.info.stopIds.length > 0) ids.push(scorer.info.stopIds[0]);
  return ids;
}

/** Room every scorer prompt must leave: the longest re-tokenised compression (at least 1 token). */
export function scoringRoom(ids: readonly number[][]): number {
  return Math.max(1, ...ids.map((x) => x.length));
}

/** Options of runEstimate beyond the request. */
export interface EstimateOptions {
  /**
   * A generate-only compressor: it writes the compressions from the chat template, and the
   * engine passed to runEstimate only scores them (re-tokenising each text: scorerIds).
   */
  compressor?: TextCompressor;
}

/** Run one estimate. See the module note for the schedule, edge cases and cancellation. */
export async function runEstimate(
  engine: Engine,
  request: EstimateRequest,
  hooks: EstimateHooks = {},
  options: EstimateOptions = {},
): Promise<EstimateOutcome> {
  validate(request);
  const m = request.samplesPerContext;
  const settings = { ...request.settings };
  const compressor = options.compressor;
  // The scorer's prompts; with a generate-only compressor this is also the check, before any
  // text is written, that every context fits the scorer's window with a maxTokens compression.
  const promptIds = await buildPromptIds(engine, request);
  const counters: EstimateCounters = { generation: { ...ZERO_COUNTERS }, scoring: { ...ZERO_COUNTERS } };
  const timings: EstimateTimings = { generationMs: 0, scoringMs: 0 };

  const plan = { samplesPerContext: m, settings, resume: request.resume };
  const gen = compressor
    ? await generateSlots(proxySource(compressor, engine, request, promptIds), request.contexts.length, plan, hooks)
    : await generateCompressions(engine, { promptIds, ...plan }, hooks);
  counters.generation = gen.counters;
  timings.generationMs = gen.generationMs;
  if (gen.status === 'cancelled') {
    return { status: 'cancelled', phase: 'generating', compressions: gen.compressions, counters, timings };
  }
  const modelId = compressor ? compressor.id : engine.info.id;
  const compressorInfo = compressor ? { compressor: { id: compressor.id, host: compressor.host } } : {};
  if (request.generateOnly) {
    return {
      status: 'generated',
      modelId,
      ...compressorInfo,
      promptStyle: engine.info.promptStyle,
      templateVersion: COMPRESSION_TEMPLATE_VERSION,
      contexts: promptIds.map((ids) => ({ promptIds: ids })),
      compressions: gen.compressions,
      counters,
      timings,
    };
  }

  const generated = gen.compressions;
  // A re-tokenised text may be longer than maxTokens scorer tokens: check the window again.
  const scoringPrompts = compressor
    ? await promptIdsFor(engine, request.contexts, request.question, scoringRoom(generated.map((c) => c.ids)), request.sentenceBudget)
    : promptIds;
  const scored = await scoreUnderContexts(
    engine,
    generated.map((c) => c.ids),
    [{ promptIds: scoringPrompts, members: generated.map((_, k) => k) }],
    settings.temperature,
    hooks,
  );
  counters.scoring = scored.counters;
  timings.scoringMs = scored.scoringMs;
  if (scored.status === 'cancelled') {
    return { status: 'cancelled', phase: 'scoring', compressions: generated, counters, timings };
  }
  return assembleResult(request, engine, modelId, compressorInfo, scoringPrompts, generated, scored.perToken, counters, timings);
}

function assembleResult(
  request: EstimateRequest,
  scorer: Engine,
  modelId: string,
  compressorInfo: Pick<EstimateResult, 'compressor'>,
  promptIds: number[][],
  generated: GeneratedCompression[],
  perToken: number[][][],
  counters: EstimateCounters,
  timings: EstimateTimings,
): EstimateResult {
  const n = request.contexts.length;
  const settings = { ...request.settings };
  const compressions: ScoredCompression[] = generated.map((c, k) => ({ ...c, ...termsOf(perToken[k], c.context) }));
  const byContext = (pick: (c: ScoredCompression) => number) =>
    Array.from({ length: n }, (_, i) => compressions.filter((c) => c.context === i).map(pick));
  const summary = summarizeTerms(
    byContext((c) => c.termNats),
    byContext((c) => c.ids.length),
  );
  return {
    status: 'done',
    modelId,
    scorerModelId: scorer.info.id,
    ...compressorInfo,
    promptStyle: scorer.info.promptStyle,
    templateVersion: COMPRESSION_TEMPLATE_VERSION,
    question: request.question,
    sentenceBudget: request.sentenceBudget ?? null,
    samplesPerContext: request.samplesPerContext,
    settings,
    contexts: promptIds.map((ids) => ({ promptIds: ids })),
    compressions,
    summary,
    flags: {
      truncated: compressions.filter((c) => c.truncated).length,
      empty: compressions.filter((c) => c.empty).length,
    },
    warnings: [...warningsFor(settings), ...(compressorInfo.compressor ? [proxyWarning(compressorInfo.compressor.id, scorer.info.id)] : [])],
    counters,
    timings,
  };
}

function proxyWarning(compressorId: string, scorerId: string): string {
  return (
    `Written by ${compressorId}, scored by ${scorerId}: the scorer re-tokenised each compression's text, so this MI is ` +
    "about the text as the scorer reads it, not about the writer's own distribution."
  );
}

/**
 * Samples from a generate-only compressor (chat messages, the server's template), each turned
 * into the scorer's ids at once (scorerIds), so a saved compression holds exactly the ids that
 * will be scored. `logprobsNats` then holds the scorer's teacher-forced log-probs of those ids
 * under the source context (one scoring call per compression: 1/N of the scoring work again),
 * and `generator` keeps the server's own numbers.
 */
function proxySource(compressor: TextCompressor, scorer: Engine, request: EstimateRequest, scorerPrompts: number[][]): SampleSource {
  const prompts = request.contexts.map((x) => compressionPrompt('chat', x, request.question, { sentenceBudget: request.sentenceBudget }));
  const toScorer = async (context: number, g: TextGeneration): Promise<Produced | null> => {
    if (g.stopReason === 'interrupted') return null;
    const ids = await scorerIds(scorer, g.text, g.stopReason);
    const tokenTexts: string[] = [];
    for (const id of ids) tokenTexts.push(scorer.info.stopIds.includes(id) ? '' : await scorer.detokenize([id]));
    let logprobsNats: number[] = [];
    if (ids.length > 0) {
      try {
        [logprobsNats] = await scorer.score(scorerPrompts[context], [ids], request.settings.temperature);
      } catch (err) {
        if (errorName(err) === 'InterruptedError') return null;
        throw err;
      }
    }
    return {
      text: g.text,
      tokenTexts,
      ids,
      logprobsNats,
      stopReason: g.stopReason,
      truncated: g.stopReason === 'length',
      empty: ids.length === 0,
      generator: { generatedTokens: g.generatedTokens, logprobsNats: g.logprobsNats },
    };
  };
  return textSource(compressor, prompts, toScorer, () => scorer.counters());
}

/** Samples from a generate-only compressor, each answer made into a Produced by `convert`. */
function textSource(
  compressor: TextCompressor,
  prompts: Prompt[],
  convert: (context: number, g: TextGeneration) => Promise<Produced | null>,
  counters: () => EngineCounters,
): SampleSource {
  const generateMany = compressor.generateMany?.bind(compressor);
  return {
    counters,
    async one(context, settings, onToken) {
      let index = 0;
      const g = await compressor.generate(prompts[context], settings, (text) => onToken({ id: -1, text, logprobNats: Number.NaN, index: index++ }));
      return convert(context, g);
    },
    many: generateMany
      ? (jobs, onResult) =>
          generateMany(
            jobs.map((job) => ({ prompt: prompts[job.context], settings: job.settings })),
            async (index, g) => onResult(index, await convert(jobs[index].context, g)),
          )
      : undefined,
  };
}

export interface TextGenerationPlan extends Omit<GenerationPlan, 'promptIds'> {
  /** One chat prompt per slot (compressionPrompt('chat', ...)): the server applies its template. */
  prompts: Prompt[];
}

/**
 * Generation by a generate-only compressor with no scorer at hand (the sweep scores later, with
 * its fixed scorer): each compression keeps the text, its stop reason and what the server
 * reported (`generator`); `ids` and `logprobsNats` stay empty until a scorer re-tokenises the
 * text (scorerIds). Slots, seeds, resume and cancellation as generateCompressions.
 */
export async function generateTextCompressions(
  compressor: TextCompressor,
  plan: TextGenerationPlan,
  hooks: EstimateHooks = {},
): Promise<GenerationOutcome> {
  const convert = async (_context: number, g: TextGeneration): Promise<Produced | null> =>
    g.stopReason === 'interrupted'
      ? null
      : {
          text: g.text,
          tokenTexts: [],
          ids: [],
          logprobsNats: [],
          stopReason: g.stopReason,
          truncated: g.stopReason === 'length',
          empty: g.text === '',
          generator: { generatedTokens: g.generatedTokens, logprobsNats: g.logprobsNats },
        };
  return generateSlots(textSource(compressor, plan.prompts, convert, () => ({ ...ZERO_COUNTERS })), plan.prompts.length, plan, hooks);
}
