/**
 * The sweep runner: many estimates over one bank, built from the run flow's pieces
 * (run-estimate.ts: promptIdsFor, generateCompressions, scoreUnderContexts, termsOf; the
 * estimator's summarizeTerms), with a predictor and a judge for evaluation items.
 *
 * State: a SweepOutput, the very object the command line prints. The runner fills it in place
 * and calls `deps.save(state)` after every finished compression, scored run and answer, so a
 * caller that stores it (a file, IndexedDB) can resume from exactly where it stopped: passing
 * the saved state back skips what is there. Compression k of a run uses sampleSeed(seed, k), so
 * a resumed sweep equals an uninterrupted one.
 *
 * Schedule (one model in memory at a time): check every passage against every model's window
 * (and the scorer's); then for each model: load, generate every configuration and seed of that
 * model, score them when the scorer is 'self', release. With a fixed scorer: load it once and
 * score everything, re-tokenising each compression's TEXT with the scorer's tokenizer (plus the
 * scorer's stop id when the compression ended with a stop), under the scorer's template. Last,
 * the predictor answers every item of every run from that item's compressions, the judge
 * grades, and the summaries, fit and correlation are computed.
 *
 * Generate-only compressors (`deps.loadCompressor`: Ollama, LM Studio, llama-server): the
 * models are their names, each writes its compressions from the chat template
 * (generateTextCompressions), and the fixed scorer, which is required, re-tokenises and scores
 * every text as above. Their windows are theirs to enforce; only the scorer's is checked first.
 *
 * Eval conditioning: with items, compression z of item i is sampled from T(x_c(i), q_i) and
 * scored under T(x_l, q_i) for every context l of the bank (I(X;Z|Q)); the bank is the distinct
 * item contexts.
 *
 * A predictor failure pauses the sweep: status 'paused', everything kept and saved, then
 * SweepPausedError is thrown. Calling again with the saved state resumes.
 */
import type { Engine, ModelArchitecture } from '../engine';
import { PrecisError, errorMessage, errorName } from '../errors';
import { summarizeTerms } from '../estimator';
import { COMPRESSION_TEMPLATE_VERSION, compressionPrompt } from '../prompts';
import type { TextCompressor } from '../text-compressor';
import { buildPayload, rawPayload, type ChatMessage } from '../../predictor/payload';
import {
  generateCompressions,
  generateTextCompressions,
  promptIdsFor,
  scoreUnderContexts,
  scorerIds,
  scoringRoom,
  termsOf,
  type CancelSignal,
  type GeneratedCompression,
} from '../run-estimate';
import {
  answerMessages,
  judgeChoice,
  judgeExact,
  judgeMessages,
  readJudgeReply,
  type Judgement,
  type JudgeKind,
} from './judge';
import { configurations, maxTokensOf, slotsPerRun, SweepConfigError, type BudgetUnit, type SweepPlan } from './plan';
import { correlation, fitNeedsMessage, fitRateDistortion, mean, sampleSd, wilsonInterval, MIN_FIT_POINTS } from './stats';

export const SWEEP_FORMAT = 'precis-sweep';
export const SWEEP_VERSION = 1;

export class SweepPausedError extends PrecisError {
  constructor(reason: string) {
    super('SweepPausedError', `The sweep paused: ${reason} Everything finished so far is kept; run it again to resume.`);
  }
}

export class SweepResumeError extends PrecisError {
  constructor(detail: string) {
    super('SweepResumeError', `Cannot resume this sweep: ${detail}`);
  }
}

export interface CompressionOut {
  /** Bank index of the context it was sampled from. */
  context: number;
  /** With eval: the item it answers. */
  item?: number;
  sample: number;
  seed: number;
  text: string;
  /** The compressor's ids as sampled (stop id included when it stopped). */
  generatedIds: number[];
  /** ln p of each generated id as sampled (nats). */
  logprobsNats: number[];
  stopReason: string;
  truncated: boolean;
  /** Exactly the ids that were scored (the scorer's own ids with a fixed scorer). */
  ids: number[];
  /**
   * Written by a generate-only compressor: what the server reported (its token count and
   * log-probs, when it gives them). `generatedIds` and `logprobsNats` are then empty: the
   * server's ids are not known, and `ids` is the scorer's re-tokenisation of `text`.
   */
  generator?: { generatedTokens: number | null; logprobsNats: number[] | null };
  termNats?: number;
  /** s_l under each context l (nats). */
  scoresNats?: number[];
  pmiNats?: number[];
}

export interface ItemOut {
  index: number;
  answer: string;
  correct: boolean | null;
  offFormat: boolean;
  read: string;
  judgeReply?: string;
}

export interface RunOut {
  seed: number;
  scored: boolean;
  miNats?: number;
  miBits?: number;
  ceilingBits?: number;
  bitsPerToken?: number;
  meanTokens?: number;
  stdErrBits?: number;
  /** The scorer's prompt ids per context: exactly what every compression was scored under. */
  contexts: { promptIds: number[]; promptIdsByItem?: number[][] }[];
  /** The compressor's prompt ids per slot (context, or item with eval): what was sampled from. */
  generationPromptIds: number[][];
  compressions: CompressionOut[];
  items?: ItemOut[];
  timings: { generationMs: number; scoringMs: number; answerMs: number; generatedTokens: number };
}

export interface CostOut {
  model: string;
  compressedTokens: number;
  rawTokens: number;
  compressedCostUsd?: number;
  rawCostUsd?: number;
  tokensAreEstimate: boolean;
  /** Per run (mean over seeds): the compressions as sent vs the raw bank as it would be sent. */
  per: 'run';
}

export interface ConfigOut {
  model: string;
  modelId?: string;
  budget: number;
  budgetUnit: BudgetUnit;
  maxTokens: number;
  temperature: number;
  scorerId?: string;
  architecture?: ModelArchitecture | null;
  miBitsMean?: number;
  miBitsSpread?: number;
  ceilingBits?: number;
  bitsPerTokenMean?: number;
  meanTokens?: number;
  wallMs?: number;
  tokensPerSecond?: number;
  flopsPerCompression?: number;
  cost?: CostOut;
  accuracy?: number;
  accuracyLow?: number;
  accuracyHigh?: number;
  judged?: number;
  offFormat?: number;
  runs: RunOut[];
}

export interface BaselineOut {
  items: ItemOut[];
  accuracy?: number;
  accuracyLow?: number;
  accuracyHigh?: number;
  judged?: number;
}

export type SweepStatus = 'running' | 'paused' | 'cancelled' | 'done';

export interface SweepOutput {
  format: typeof SWEEP_FORMAT;
  version: typeof SWEEP_VERSION;
  status: SweepStatus;
  pausedReason?: string;
  planHash: string;
  engine: string;
  scorer: string;
  question: string;
  templateVersion: string;
  bank: { passages: number; texts: string[] };
  judge?: JudgeKind;
  judgePrompt?: string;
  flopsFormula: string;
  configs: ConfigOut[];
  baselines?: { none?: BaselineOut; raw?: BaselineOut };
  fit?: { C: number; b: number; D0: number; rmse: number; points: number };
  fitNote?: string;
  correlation?: { pearson: number | null; spearman: number | null };
  correlationNote?: string;
  warnings: string[];
}

export const FLOPS_FORMULA =
  'FLOPs per compression = L · (2·N_params + 2·n_layer·n_ctx·d_attn), L = the compression\'s generated tokens, ' +
  'N_params = every weight of the checkpoint (embeddings included), d_attn = query heads × head size, ' +
  'n_ctx = that compression\'s prompt tokens + L (the context length at its last token); the mean over compressions.';

export interface CostFigures {
  compressedTokens: number;
  rawTokens: number;
  compressedCostUsd?: number;
  rawCostUsd?: number;
  tokensAreEstimate: boolean;
}

export interface SweepProgress {
  phase: 'checking' | 'generating' | 'scoring' | 'answering' | 'done';
  done: number;
  total: number;
  /** Seconds left over the whole grid at this session's rate; null before anything finished. */
  etaSeconds: number | null;
  model?: string;
  detail: string;
}

export interface SweepDeps {
  loadEngine(model: string): Promise<Engine>;
  releaseEngine(engine: Engine): Promise<void>;
  /**
   * Given: the plan's models are generate-only compressors (Ollama, LM Studio, llama-server, any
   * OpenAI-compatible chat endpoint). Each writes its compressions from the chat template, and
   * the fixed scorer (`loadEngine(plan.scorer)`) re-tokenises and scores every text.
   */
  loadCompressor?(model: string): Promise<TextCompressor>;
  releaseCompressor?(compressor: TextCompressor): Promise<void>;
  /** Persist the state (called after every change). */
  save(state: SweepOutput): void | Promise<void>;
  /** Ask the predictor; throws on failure (the sweep then pauses). */
  predict?(messages: ChatMessage[]): Promise<string>;
  /** Ask the LLM judge (judge 'llm'). */
  judge?(messages: ChatMessage[]): Promise<string>;
  /** Price compressions vs raw for the predictor model (src/lib/predictor/savings). */
  costOf?(compressed: ChatMessage[], raw: ChatMessage[]): Promise<CostFigures>;
  costModel?: string;
  signal?: CancelSignal;
  onProgress?(p: SweepProgress): void;
  now?: () => number;
}

/** A fresh state for a plan (nothing done yet). */
export function newSweepState(plan: SweepPlan, hash: string): SweepOutput {
  return {
    format: SWEEP_FORMAT,
    version: SWEEP_VERSION,
    status: 'running',
    planHash: hash,
    engine: plan.engine,
    scorer: plan.scorer,
    question: plan.question,
    templateVersion: COMPRESSION_TEMPLATE_VERSION,
    bank: { passages: plan.bank.length, texts: plan.bank },
    judge: plan.items ? plan.judge : undefined,
    flopsFormula: FLOPS_FORMULA,
    configs: configurations(plan).map((k) => ({
      ...k,
      budgetUnit: plan.budgetUnit,
      maxTokens: maxTokensOf(plan, k.budget),
      runs: plan.seeds.map((seed) => ({
        seed,
        scored: false,
        contexts: [],
        generationPromptIds: [],
        compressions: [],
        timings: { generationMs: 0, scoringMs: 0, answerMs: 0, generatedTokens: 0 },
      })),
    })),
    warnings: [],
  };
}

export class SweepImportError extends PrecisError {
  constructor(name: string, detail: string) {
    super('SweepImportError', `${name} cannot be opened as a sweep: ${detail}`);
  }
}

/** Largest sweep file the page reads (a paper-scale sweep with every compression is tens of MB). */
export const MAX_SWEEP_FILE_BYTES = 256 * 1024 * 1024;

/**
 * A sweep written by the command line (`npm run sweep`: its stdout, or its --out file), or the
 * Compare view's own export, read for the Compare view: the format is checked and the configurations' shape is checked, so the table
 * and plots can draw it. Throws SweepImportError naming what is wrong.
 */
export function readSweepFile(text: string, name: string): SweepOutput {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new SweepImportError(name, 'it is not JSON. Open the output of `npm run --silent sweep` (or its --out file).');
  }
  // The Compare view's own "Export JSON" wraps the output in its saved record ({..., state}).
  const wrapped = raw as { state?: { format?: unknown } } | null;
  if (wrapped && typeof wrapped === 'object' && wrapped.state?.format === SWEEP_FORMAT) raw = wrapped.state;
  const s = raw as Partial<SweepOutput> | null;
  if (!s || typeof s !== 'object' || s.format !== SWEEP_FORMAT) {
    throw new SweepImportError(name, `it is not a Précis sweep output (no "format": "${SWEEP_FORMAT}").`);
  }
  if (s.version !== SWEEP_VERSION) throw new SweepImportError(name, `it is version ${JSON.stringify(s.version)}; this page reads version ${SWEEP_VERSION}.`);
  if (!Array.isArray(s.configs) || s.configs.length === 0) throw new SweepImportError(name, 'it has no configurations.');
  s.configs.forEach((c, i) => {
    const ok = c && typeof c.model === 'string' && typeof c.budget === 'number' && typeof c.temperature === 'number' && Array.isArray(c.runs);
    if (!ok) throw new SweepImportError(name, `configuration ${i + 1} lacks its model, budget, temperature or runs.`);
  });
  if (!s.bank || !Array.isArray(s.bank.texts)) throw new SweepImportError(name, 'it has no bank of passages.');
  if (!Array.isArray(s.warnings)) s.warnings = [];
  return s as SweepOutput;
}

/** Check that a saved state belongs to this plan. */
export function checkResumable(state: unknown, hash: string): SweepOutput {
  const s = state as Partial<SweepOutput> | null;
  if (!s || s.format !== SWEEP_FORMAT || s.version !== SWEEP_VERSION || !Array.isArray(s.configs)) {
    throw new SweepResumeError('the saved file is not a Précis sweep output.');
  }
  if (s.planHash !== hash) {
    throw new SweepResumeError('it was made with a different configuration (models, bank, question, items or grid). Use another --out file, or the same configuration.');
  }
  return s as SweepOutput;
}

function toGenerated(c: CompressionOut, slot: number): GeneratedCompression {
  return {
    context: slot,
    sample: c.sample,
    seed: c.seed,
    text: c.text,
    tokenTexts: [],
    ids: c.generatedIds,
    logprobsNats: c.logprobsNats,
    stopReason: c.stopReason as GeneratedCompression['stopReason'],
    truncated: c.truncated,
    empty: c.generatedIds.length === 0,
  };
}

function slotOf(c: CompressionOut): number {
  return c.item ?? c.context;
}

function sortCompressions(run: RunOut, m: number): void {
  run.compressions.sort((a, b) => slotOf(a) * m + a.sample - (slotOf(b) * m + b.sample));
}

/** Run (or resume) a sweep. Returns the state, with status 'done' or 'cancelled'. */
export async function runSweep(plan: SweepPlan, state: SweepOutput, deps: SweepDeps): Promise<SweepOutput> {
  const now = deps.now ?? Date.now;
  const m = plan.samples;
  const slots = slotsPerRun(plan);
  const items = plan.items;
  const itemContext = plan.itemContext ?? [];
  const proxy = plan.scorer !== 'self';
  const textPath = deps.loadCompressor !== undefined;
  if (textPath && !proxy) {
    throw new SweepConfigError('a generate-only compressor cannot score text: give "scorer", a local model folder or a served scorer.');
  }
  state.status = 'running';
  state.pausedReason = undefined;
  if (plan.budgetUnit === 'sentences') {
    const w = 'Sentence budgets are asked for in the chat template only; a plain (story-model) template ignores them, so only the token cap applies there.';
    if (!state.warnings.includes(w)) state.warnings.push(w);
  }

  // Progress over the whole grid.
  const runs = state.configs.flatMap((c) => c.runs.map((r) => ({ c, r })));
  const genUnits = runs.length * slots * m;
  const scoreUnits = runs.length * slots;
  const answerUnits = items ? runs.length * items.length * (plan.judge === 'llm' ? 2 : 1) : 0;
  const total = genUnits + scoreUnits + answerUnits;
  let done =
    runs.reduce((a, { r }) => a + r.compressions.length + (r.scored ? slots : 0) + (r.items?.length ?? 0) * (plan.judge === 'llm' ? 2 : 1), 0);
  const startDone = done;
  const startMs = now();
  const report = (phase: SweepProgress['phase'], detail: string, model?: string) => {
    const rate = done - startDone;
    const etaSeconds = rate > 0 ? ((now() - startMs) / rate) * (total - done) / 1000 : null;
    deps.onProgress?.({ phase, done, total, etaSeconds, model, detail });
  };
  const cancelled = async () => {
    state.status = 'cancelled';
    await deps.save(state);
    return state;
  };

  const questionsOf = (): string[] => (items ? [...new Set(items.map((it) => it.question))] : [plan.question]);
  const sentenceBudget = (budget: number) => (plan.budgetUnit === 'sentences' ? budget : undefined);

  // 1. Every passage against every model's window (and the scorer's), before any work.
  report('checking', 'Checking every passage against every model window');
  const maxBudgetTokens = plan.budgetUnit === 'tokens' ? Math.max(...plan.budgets) : plan.maxTokens;
  // A generate-only compressor has no tokenizer here: its own server refuses what does not fit.
  for (const model of textPath ? [plan.scorer] : proxy ? [...plan.models, plan.scorer] : plan.models) {
    const engine = await deps.loadEngine(model);
    try {
      for (const q of questionsOf()) await promptIdsFor(engine, plan.bank, q, maxBudgetTokens);
    } finally {
      await deps.releaseEngine(engine);
    }
  }

  // 2. Generation per model; scoring too when each compressor is its own scorer.
  const scoreRun = async (engine: Engine, cfg: ConfigOut, run: RunOut): Promise<boolean> => {
    const ids: number[][] = [];
    for (const c of run.compressions) {
      ids.push(proxy ? await scorerIds(engine, c.text, c.stopReason) : c.generatedIds);
    }
    const room = proxy ? scoringRoom(ids) : cfg.maxTokens;
    const sb = sentenceBudget(cfg.budget);
    const byQuestion = new Map<string, number[][]>();
    for (const q of questionsOf()) byQuestion.set(q, await promptIdsFor(engine, plan.bank, q, room, sb));
    const groups = items
      ? items.map((it, i) => ({ promptIds: byQuestion.get(it.question)!, members: run.compressions.map((c, k) => (c.item === i ? k : -1)).filter((k) => k >= 0) }))
      : [{ promptIds: byQuestion.get(plan.question)!, members: run.compressions.map((_, k) => k) }];
    const scored = await scoreUnderContexts(engine, ids, groups, cfg.temperature, { signal: deps.signal, now });
    if (scored.status === 'cancelled') return false;
    run.compressions.forEach((c, k) => {
      c.ids = ids[k];
      Object.assign(c, termsOf(scored.perToken[k], c.context));
    });
    run.contexts = plan.bank.map((_, l) => {
      const own = items ? items[itemContext.indexOf(l)].question : plan.question;
      const entry: RunOut['contexts'][number] = { promptIds: byQuestion.get(own)![l] };
      if (items) entry.promptIdsByItem = items.map((it) => byQuestion.get(it.question)![l]);
      return entry;
    });
    const byContext = (pick: (c: CompressionOut) => number) =>
      plan.bank.map((_, l) => run.compressions.filter((c) => c.context === l).map(pick));
    // A text compressor's own ids are unknown: its length is the scorer's count of the text.
    const summary = summarizeTerms(
      byContext((c) => c.termNats!),
      byContext((c) => (textPath ? c.ids.length : c.generatedIds.length)),
    );
    Object.assign(run, {
      scored: true,
      miNats: summary.miNats,
      miBits: summary.miBits,
      ceilingBits: summary.ceilingBits,
      bitsPerToken: summary.bitsPerToken,
      meanTokens: summary.meanTokens,
      stdErrBits: summary.stdErrBits,
    });
    cfg.scorerId = engine.info.id;
    run.timings.scoringMs += scored.scoringMs;
    return true;
  };

  const record = async (run: RunOut, g: GeneratedCompression, detail: string, model: string) => {
    run.compressions.push({
      context: items ? itemContext[g.context] : g.context,
      ...(items ? { item: g.context } : {}),
      sample: g.sample,
      seed: g.seed,
      text: g.text,
      generatedIds: g.ids,
      logprobsNats: g.logprobsNats,
      stopReason: g.stopReason,
      truncated: g.truncated,
      ids: g.ids,
      ...(g.generator ? { generator: g.generator } : {}),
    });
    sortCompressions(run, m);
    run.timings.generatedTokens += g.generator ? (g.generator.generatedTokens ?? 0) : g.ids.length;
    await deps.save(state);
    done++;
    report('generating', detail, model);
  };

  // What every generation of a run shares: M samples per slot, the configuration's sampling,
  // the compressions already saved (resume), and a save after each new one.
  const slotPlan = (cfg: ConfigOut, run: RunOut) => ({
    samplesPerContext: m,
    settings: { temperature: cfg.temperature, topP: 1, maxTokens: cfg.maxTokens, seed: run.seed },
    resume: run.compressions.map((c) => toGenerated(c, slotOf(c))),
  });
  const generationHooks = (run: RunOut, detail: string, model: string) => ({
    signal: deps.signal,
    now,
    onCompression: (g: GeneratedCompression) => record(run, g, detail, model),
  });

  /** Slot s of a run: the passage it compresses and the question it is asked with. */
  const slotSource = (s: number) => (items ? { context: plan.bank[itemContext[s]], question: items[s].question } : { context: plan.bank[s], question: plan.question });

  /** Generate-only compressors write every missing compression; false when cancelled. */
  const writeWithTextCompressors = async (): Promise<boolean> => {
    for (const model of plan.models) {
      const cfgs = state.configs.filter((c) => c.model === model);
      if (!cfgs.some((c) => c.runs.some((r) => r.compressions.length < slots * m))) continue;
      const compressor = await deps.loadCompressor!(model);
      try {
        for (const cfg of cfgs) {
          cfg.modelId = compressor.id;
          cfg.architecture = null;
          const sb = sentenceBudget(cfg.budget);
          for (const run of cfg.runs) {
            if (run.compressions.length >= slots * m) continue;
            const prompts = Array.from({ length: slots }, (_, s) => {
              const { context, question } = slotSource(s);
              return compressionPrompt('chat', context, question, { sentenceBudget: sb });
            });
            run.generationPromptIds = [];
            const detail = `Writing compressions: ${model} on ${compressor.host}, budget ${cfg.budget}, T ${cfg.temperature}, seed ${run.seed}`;
            report('generating', detail, model);
            const gen = await generateTextCompressions(compressor, { prompts, ...slotPlan(cfg, run) }, generationHooks(run, detail, model));
            run.timings.generationMs += gen.generationMs;
            if (gen.status === 'cancelled') return false;
          }
        }
      } finally {
        await (deps.releaseCompressor ? deps.releaseCompressor(compressor) : compressor.dispose());
      }
    }
    return true;
  };

  /** Engines write every missing compression, and score them when each is its own scorer; false when cancelled. */
  const writeWithEngines = async (): Promise<boolean> => {
    for (const model of plan.models) {
      const cfgs = state.configs.filter((c) => c.model === model);
      const needGen = cfgs.some((c) => c.runs.some((r) => r.compressions.length < slots * m));
      const needScore = !proxy && cfgs.some((c) => c.runs.some((r) => !r.scored));
      if (!needGen && !needScore) continue;
      const engine = await deps.loadEngine(model);
      try {
        for (const cfg of cfgs) {
          cfg.modelId = engine.info.id;
          cfg.architecture = engine.info.architecture ?? null;
          const sb = sentenceBudget(cfg.budget);
          for (const run of cfg.runs) {
            if (run.compressions.length < slots * m) {
              const prompts: number[][] = [];
              for (let s = 0; s < slots; s++) {
                const { context, question } = slotSource(s);
                const [ids] = await promptIdsFor(engine, [context], question, cfg.maxTokens, sb);
                prompts.push(ids);
              }
              run.generationPromptIds = prompts;
              const detail = `Writing compressions: ${model}, budget ${cfg.budget}, T ${cfg.temperature}, seed ${run.seed}`;
              report('generating', detail, model);
              const gen = await generateCompressions(engine, { promptIds: prompts, ...slotPlan(cfg, run) }, generationHooks(run, detail, model));
              run.timings.generationMs += gen.generationMs;
              if (gen.status === 'cancelled') return false;
            }
            if (!proxy && !run.scored) {
              report('scoring', `Scoring: ${model}, budget ${cfg.budget}, T ${cfg.temperature}, seed ${run.seed}`, model);
              if (!(await scoreRun(engine, cfg, run))) return false;
              await deps.save(state);
              done += slots;
            }
          }
        }
      } finally {
        await deps.releaseEngine(engine);
      }
    }
    return true;
  };

  if (!(await (textPath ? writeWithTextCompressors() : writeWithEngines()))) return cancelled();

  // 3. A fixed scorer scores everything.
  if (proxy && state.configs.some((c) => c.runs.some((r) => !r.scored))) {
    const scorer = await deps.loadEngine(plan.scorer);
    try {
      for (const cfg of state.configs) {
        for (const run of cfg.runs) {
          if (run.scored) continue;
          report('scoring', `Scoring under ${scorer.info.id}: ${cfg.model}, budget ${cfg.budget}, seed ${run.seed}`, plan.scorer);
          if (!(await scoreRun(scorer, cfg, run))) return cancelled();
          await deps.save(state);
          done += slots;
        }
      }
    } finally {
      await deps.releaseEngine(scorer);
    }
  }

  // 4. Evaluation: the predictor answers each item from its compressions; the judge grades.
  if (items) {
    if (!deps.predict) throw new SweepResumeError('an evaluation needs a predictor.');
    if (plan.judge === 'llm') state.judgePrompt = judgeMessages({ context: '', question: '{question}', answer: '{reference}' }, '{candidate}')
      .map((mm) => `[${mm.role}]\n${mm.content}`)
      .join('\n\n');
    const judgeOne = async (index: number, answer: string): Promise<Judgement> => {
      const item = items[index];
      if (plan.judge === 'choice') return judgeChoice(answer, item);
      if (plan.judge === 'llm') {
        if (!deps.judge) throw new SweepResumeError('the llm judge needs an endpoint.');
        const messages = judgeMessages(item, answer);
        let reply = await deps.judge(messages);
        let j = readJudgeReply(reply);
        if (j.offFormat) {
          // One reminder, then the item is left out as unknown.
          reply = await deps.judge([...messages, { role: 'assistant', content: reply }, { role: 'user', content: 'Reply with exactly one word: CORRECT or INCORRECT.' }]);
          j = readJudgeReply(reply);
        }
        return j;
      }
      return judgeExact(answer, item.answer);
    };
    // null: the sweep was cancelled while the request was out (the caller aborted it).
    const ask = async (messages: ChatMessage[]): Promise<string | null> => {
      try {
        return await deps.predict!(messages);
      } catch (err) {
        if (deps.signal?.aborted) return null;
        state.status = 'paused';
        state.pausedReason = `${errorName(err)}: ${errorMessage(err)}`;
        await deps.save(state);
        throw new SweepPausedError(state.pausedReason);
      }
    };
    const judged = async (index: number, answer: string): Promise<Judgement | null> => {
      try {
        return await judgeOne(index, answer);
      } catch (err) {
        if (errorName(err) === 'SweepResumeError') throw err;
        if (deps.signal?.aborted) return null;
        state.status = 'paused';
        state.pausedReason = `${errorName(err)}: ${errorMessage(err)}`;
        await deps.save(state);
        throw new SweepPausedError(state.pausedReason);
      }
    };
    const perCall = plan.judge === 'llm' ? 2 : 1;
    for (const cfg of state.configs) {
      for (const run of cfg.runs) {
        run.items ??= [];
        for (let i = run.items.length; i < items.length; i++) {
          if (deps.signal?.aborted) return cancelled();
          report('answering', `Asking the predictor: ${cfg.model}, budget ${cfg.budget}, seed ${run.seed}, item ${i + 1}`);
          const t0 = now();
          const texts = run.compressions.filter((c) => c.item === i).map((c) => c.text);
          const answer = await ask(answerMessages(items[i], texts, 'compressions'));
          if (answer === null) return cancelled();
          const j = await judged(i, answer);
          if (j === null) return cancelled();
          run.items.push({ index: i, answer, correct: j.correct, offFormat: j.offFormat, read: j.read, ...(j.judgeReply !== undefined ? { judgeReply: j.judgeReply } : {}) });
          run.timings.answerMs += now() - t0;
          await deps.save(state);
          done += perCall;
          report('answering', `Asked item ${i + 1}`);
        }
      }
    }
    // Baselines: no context at all; the raw context only when opted in.
    state.baselines ??= {};
    const baseline = async (mode: 'none' | 'raw') => {
      const b = (state.baselines![mode] ??= { items: [] });
      for (let i = b.items.length; i < items.length; i++) {
        if (deps.signal?.aborted) return false;
        const texts = mode === 'raw' ? [plan.bank[itemContext[i]]] : [];
        const answer = await ask(answerMessages(items[i], texts, mode));
        if (answer === null) return false;
        const j = await judged(i, answer);
        if (j === null) return false;
        b.items.push({ index: i, answer, correct: j.correct, offFormat: j.offFormat, read: j.read, ...(j.judgeReply !== undefined ? { judgeReply: j.judgeReply } : {}) });
        await deps.save(state);
      }
      Object.assign(b, accuracyOf(b.items));
      return true;
    };
    if (plan.baselines.none && !(await baseline('none'))) return cancelled();
    if (plan.baselines.raw && !(await baseline('raw'))) return cancelled();
  }

  // 5. Summaries.
  await summarise(plan, state, deps);
  state.status = 'done';
  report('done', 'Sweep finished');
  await deps.save(state);
  return state;
}

function accuracyOf(list: ItemOut[]): { accuracy?: number; accuracyLow?: number; accuracyHigh?: number; judged: number } {
  const judgedItems = list.filter((x) => x.correct !== null);
  const correct = judgedItems.filter((x) => x.correct).length;
  const w = wilsonInterval(correct, judgedItems.length);
  if (!w) return { judged: 0 };
  return { accuracy: correct / judgedItems.length, accuracyLow: w.low, accuracyHigh: w.high, judged: judgedItems.length };
}

/** Per-configuration figures, the fit and the correlation (idempotent). */
export async function summarise(plan: SweepPlan, state: SweepOutput, deps: Pick<SweepDeps, 'costOf' | 'costModel'>): Promise<void> {
  const items = plan.items;
  const itemContext = plan.itemContext ?? [];
  for (const cfg of state.configs) {
    const runs = cfg.runs.filter((r) => r.scored);
    if (runs.length === 0) continue;
    const bits = runs.map((r) => r.miBits!);
    cfg.miBitsMean = mean(bits);
    cfg.miBitsSpread = sampleSd(bits);
    cfg.ceilingBits = runs[0].ceilingBits;
    cfg.bitsPerTokenMean = mean(runs.map((r) => r.bitsPerToken!));
    cfg.meanTokens = mean(runs.map((r) => r.meanTokens!));
    cfg.wallMs = runs.reduce((a, r) => a + r.timings.generationMs + r.timings.scoringMs + r.timings.answerMs, 0);
    const genMs = runs.reduce((a, r) => a + r.timings.generationMs, 0);
    const genTokens = runs.reduce((a, r) => a + r.timings.generatedTokens, 0);
    cfg.tokensPerSecond = genMs > 0 ? (genTokens / genMs) * 1000 : undefined;
    const arch = cfg.architecture;
    if (arch) {
      const flops: number[] = [];
      for (const r of runs) {
        for (const c of r.compressions) {
          const L = c.generatedIds.length;
          const nCtx = (r.generationPromptIds[slotOf(c)]?.length ?? 0) + L;
          flops.push(L * (2 * arch.parameterCount + 2 * arch.layers * nCtx * arch.attentionDim));
        }
      }
      cfg.flopsPerCompression = mean(flops);
    }
    if (deps.costOf) {
      const figures: CostFigures[] = [];
      for (const r of runs) {
        let compressed: ChatMessage[];
        let raw: ChatMessage[];
        if (items) {
          compressed = items.flatMap((it, i) => answerMessages(it, r.compressions.filter((c) => c.item === i).map((c) => c.text), 'compressions'));
          raw = items.flatMap((it, i) => answerMessages(it, [plan.bank[itemContext[i]]], 'raw'));
        } else {
          compressed = buildPayload(plan.question, r.compressions.map((c) => c.text));
          raw = rawPayload(plan.question, plan.bank);
        }
        figures.push(await deps.costOf(compressed, raw));
      }
      const avg = (pick: (f: CostFigures) => number | undefined) => {
        const v = figures.map(pick);
        return v.every((x) => x !== undefined) ? mean(v as number[]) : undefined;
      };
      cfg.cost = {
        model: deps.costModel ?? 'unknown',
        compressedTokens: avg((f) => f.compressedTokens)!,
        rawTokens: avg((f) => f.rawTokens)!,
        compressedCostUsd: avg((f) => f.compressedCostUsd),
        rawCostUsd: avg((f) => f.rawCostUsd),
        tokensAreEstimate: figures.some((f) => f.tokensAreEstimate),
        per: 'run',
      };
    }
    if (items) {
      const all = cfg.runs.flatMap((r) => r.items ?? []);
      const a = accuracyOf(all);
      cfg.accuracy = a.accuracy;
      cfg.accuracyLow = a.accuracyLow;
      cfg.accuracyHigh = a.accuracyHigh;
      cfg.judged = a.judged;
      cfg.offFormat = all.filter((x) => x.offFormat).length;
    }
  }
  if (items) {
    const points = state.configs.filter((c) => c.accuracy !== undefined && c.miBitsMean !== undefined);
    state.fit = undefined;
    state.fitNote = undefined;
    state.correlation = undefined;
    state.correlationNote = undefined;
    if (points.length < MIN_FIT_POINTS) {
      state.fitNote = fitNeedsMessage(points.length);
      state.correlationNote = `A correlation across configurations needs at least 3 of them; this sweep has ${points.length}.`;
    } else {
      const R = points.map((c) => c.miBitsMean!);
      const D = points.map((c) => 1 - c.accuracy!);
      const fit = fitRateDistortion(R, D);
      if (fit) state.fit = fit;
      state.correlation = correlation(R, points.map((c) => c.accuracy!));
      if (state.correlation.pearson === null) state.correlationNote = 'MI or accuracy is the same for every configuration, so the correlation is undefined.';
    }
  }
}
