/**
 * A run, as page state: chunk the selected documents with the loaded model's tokens, build the
 * bank, sample and score compressions in the worker, save each compression the moment it
 * finishes, and keep the MI result. Also reopens saved runs and resumes interrupted ones.
 *
 * Invariants:
 * - The database is the record: a compression is shown only after it is saved, and the run's
 *   status in the database moves running -> done | cancelled | failed (a reload leaves it
 *   `running`, which the next page start turns into `interrupted`).
 * - The run holds its Web Lock while the worker works on it, so another tab does not mark it
 *   interrupted.
 * - Raw text stays on this device: documents go to the worker, never to the network.
 * - Nothing here throws at the view: failures land in `error` with their name.
 */
import type { ChunkRequest } from '../core/chunk-for-compression';
import type { ModelInfo, TokenEvent } from '../core/engine';
import { PrecisError, errorMessage, errorName } from '../core/errors';
import { NotEnoughContextsError } from '../core/estimator';
import { sampleSeed } from '../core/rng';
import type {
  EstimateOutcome,
  EstimateProgress,
  EstimateRequest,
  EstimateResult,
  GeneratedCompression,
} from '../core/run-estimate';
import {
  appendCompression,
  completeRun,
  createRun,
  finishRun,
  getDocumentText,
  getRun,
  isRunLockHeld,
  logExchange,
  markInterruptedRuns,
  setRunStatus,
  withRunLock,
  type BankEntry,
  type CompressionRecord,
  type ExchangeRecord,
  type RunSettings,
  type RunStatus,
} from '../storage';
import type { Exchange } from '../predictor/exchange';
import { resumeProblem } from '../storage/export-schema';
import { MAX_BANK_PASSAGES as STORED_MAX_BANK_PASSAGES } from '../storage/limits';
import { compressor, proxy } from '../worker/client';
import type { EngineStore } from './engine.svelte';
import type { ChatCompressorStore } from './chat-compressor.svelte';
import type { LibraryStore } from './library.svelte';
import { announceRun, onRunAnnounced } from './run-channel';

export type RunViewState = 'idle' | 'preparing' | RunStatus;

export interface CompressionView {
  index: number;
  context: number;
  sample: number;
  docId: string;
  docTitle: string;
  chunkIndex: number;
  /** The compression is of a document the question was asked about (it is what gets sent). */
  ofQuestionDocs: boolean;
  text: string;
  tokenCount: number;
  truncated: boolean;
  empty: boolean;
  /** The compression's MI term in bits, once the run was scored. */
  termBits: number | null;
  /** Tokens with their information in bits, once scored (the heat map). */
  tokens: { text: string; bits: number }[] | null;
}

/** What a finished run stores as its result (RunRecord.miResult). */
export interface StoredMiResult {
  kind: 'measured' | 'not-measured';
  /** Why there is no estimate (kind 'not-measured'). */
  reason?: string;
  summary?: EstimateResult['summary'];
  warnings?: string[];
  flags?: EstimateResult['flags'];
  modelId: string;
  scorerModelId?: string;
  promptStyle: string;
  templateVersion: string;
  promptTokens: number[];
  timings: EstimateResult['timings'];
  counters: EstimateResult['counters'];
}

export interface LiveCompression {
  context: number;
  sample: number;
  text: string;
  tokens: number;
}

/**
 * Every compression is scored under every passage, so scoring grows with the square of the bank:
 * 64 passages are 4,096 scorings of each sample. Larger selections are refused with advice.
 */
export const MAX_BANK_PASSAGES = STORED_MAX_BANK_PASSAGES;

/** At most this many other documents are added as contrast contexts when the bank is too small. */
const MAX_EXTRA_BANK_DOCS = 7;
/** The live compression text is pushed to the view at most this often (ms). */
const LIVE_INTERVAL_MS = 50;

/** The next run's question and settings survive a reload (this browser only). */
const DRAFT_KEY = 'precis.run-draft';

interface RunDraft {
  question: string;
  samplesPerContext: number;
  maxTokens: number;
  temperature: number;
  seed: number;
  sentenceBudget: number;
  autoBank: boolean;
}

export class RunStore {
  // Settings of the next run.
  question = $state('');
  samplesPerContext = $state(1);
  maxTokens = $state(48);
  temperature = $state(1);
  seed = $state(1);
  /** Sentences asked of each compression (chat models); 0 = no budget. */
  sentenceBudget = $state(0);
  /** When the selected documents give fewer than two contexts, compare against other documents. */
  autoBank = $state(true);

  // The run shown.
  state = $state<RunViewState>('idle');
  runId = $state<string | null>(null);
  runQuestion = $state('');
  runModelId = $state<string | null>(null);
  bank = $state.raw<BankEntry[]>([]);
  budgetTokens = $state<number | null>(null);
  progress = $state<EstimateProgress | null>(null);
  live = $state<LiveCompression | null>(null);
  compressions = $state.raw<CompressionView[]>([]);
  result = $state.raw<StoredMiResult | null>(null);
  error = $state<{ name: string; message: string } | null>(null);
  notice = $state<string | null>(null);
  /** Raw texts of the run's question documents (for the cost comparison; never sent). */
  rawTexts = $state.raw<string[]>([]);
  exchanges = $state.raw<Exchange[]>([]);

  /** The run shown is being driven by another tab: shown read-only, re-read when that tab says so. */
  elsewhere = $state(false);
  /** This tab is driving a run (a run shown read-only from another tab does not count). */
  busy = $derived(!this.elsewhere && (this.state === 'preparing' || this.state === 'running'));
  /** The compressions that answer the question (not the contrast documents'), in order. */
  sendable = $derived(this.compressions.filter((c) => c.ofQuestionDocs && !c.empty).map((c) => c.text));
  canResume = $derived(
    !this.busy && this.runId !== null && (this.state === 'interrupted' || this.state === 'cancelled' || this.state === 'failed'),
  );

  constructor() {
    this.restoreDraft();
    onRunAnnounced((a) => {
      if (this.elsewhere && a.runId === this.runId) void this.followElsewhere(a.status === 'deleted');
    });
  }

  /** The draft (question and settings) as a plain object; read it in an effect to save changes. */
  get draft(): RunDraft {
    return {
      question: this.question,
      samplesPerContext: this.samplesPerContext,
      maxTokens: this.maxTokens,
      temperature: this.temperature,
      seed: this.seed,
      sentenceBudget: this.sentenceBudget,
      autoBank: this.autoBank,
    };
  }

  saveDraft(draft: RunDraft = this.draft): void {
    try {
      localStorage.setItem(DRAFT_KEY, JSON.stringify(draft));
    } catch {
      // Storage refused (private mode, quota): the draft simply is not kept.
    }
  }

  private restoreDraft(): void {
    try {
      const raw = typeof localStorage === 'undefined' ? null : localStorage.getItem(DRAFT_KEY);
      if (!raw) return;
      const d = JSON.parse(raw) as Partial<RunDraft>;
      const num = (v: unknown, ok: (n: number) => boolean) => typeof v === 'number' && Number.isFinite(v) && ok(v);
      if (typeof d.question === 'string') this.question = d.question;
      if (num(d.samplesPerContext, (n) => Number.isInteger(n) && n >= 1 && n <= 8)) this.samplesPerContext = d.samplesPerContext!;
      if (num(d.maxTokens, (n) => Number.isInteger(n) && n >= 1)) this.maxTokens = d.maxTokens!;
      if (num(d.temperature, (n) => n >= 0 && n <= 2)) this.temperature = d.temperature!;
      if (num(d.seed, (n) => Number.isInteger(n) && n >= 0)) this.seed = d.seed!;
      if (num(d.sentenceBudget, (n) => Number.isInteger(n) && n >= 0)) this.sentenceBudget = d.sentenceBudget!;
      if (typeof d.autoBank === 'boolean') this.autoBank = d.autoBank;
    } catch {
      // A damaged draft is ignored; the defaults stand.
    }
  }

  private titles = new Map<string, string>();
  private questionDocIds = new Set<string>();
  private liveTimer: ReturnType<typeof setTimeout> | null = null;
  private livePending: LiveCompression | null = null;

  /**
   * Start a run on the selected documents with the loaded model, or, with a connected
   * generate-only server (`writer`), written by that server and scored by the loaded model.
   */
  async start(engine: EngineStore, library: LibraryStore, writer?: ChatCompressorStore): Promise<void> {
    if (this.busy) return;
    this.error = null;
    this.notice = null;
    const info = engine.info;
    if (engine.state !== 'ready' || !info) {
      this.fail({
        name: 'ModelNotLoadedError',
        message: writer?.ready ? 'Load a scorer first (Compressor engine, above): it scores what the generate-only server writes.' : 'Load a compressor model first (Compressor engine, above).',
      });
      return;
    }
    const written = writerOf(writer, info);
    if (written instanceof PrecisError) {
      this.fail({ name: written.name, message: written.message });
      return;
    }
    const selected = library.selectedDocuments;
    if (selected.length === 0) {
      this.fail({ name: 'NoDocumentsError', message: 'Select at least one document in the library to compress.' });
      return;
    }
    const invalid = settingsProblem(this.draft, info.contextWindowTokens);
    if (invalid) {
      this.fail({ name: 'InvalidArgumentError', message: invalid });
      return;
    }
    const question = this.question.trim();
    const settings = this.settingsFor(info, written !== null);
    this.reset();
    this.state = 'preparing';
    this.runQuestion = question;
    this.runModelId = written?.id ?? info.id;
    this.titles = new Map(library.documents.map((d) => [d.id, d.title]));
    const questionIds = selected.map((d) => d.id);
    this.questionDocIds = new Set(questionIds);
    let runId: string | null = null;
    try {
      // A cheap early refusal for a huge selection, before the worker counts every token.
      const roughPassages = selected.reduce((sum, d) => sum + d.tokenEstimate, 0) / info.contextWindowTokens;
      if (roughPassages > 2 * MAX_BANK_PASSAGES) throw tooLarge(Math.round(roughPassages), true);
      const texts = await Promise.all(questionIds.map((id) => getDocumentText(id)));
      this.rawTexts = texts;
      const request = chunkRequest(question, settings);
      const chunked = await compressor()
        .chunk(texts, request)
        .catch((err: unknown) => {
          if (errorName(err) !== 'ContextTooLongError') throw err;
          throw new PrecisError(
            'ContextTooLongError',
            `${errorMessage(err)} Here the token budget (${settings.maxTokens}) leaves no room for any text: lower it under Compression settings.`,
          );
        });
      this.budgetTokens = chunked.budgetTokens;
      let bank: BankEntry[] = chunked.chunks.flatMap((list, d) =>
        list.map((c) => ({ docId: questionIds[d], chunkIndex: c.index, text: c.text })),
      );
      if (bank.length === 0) throw new Error('The selected documents have no text to compress.');
      if (bank.length > MAX_BANK_PASSAGES) throw tooLarge(bank.length, false);
      if (bank.length < 2 && this.autoBank) {
        const others = library.documents.filter((d) => !this.questionDocIds.has(d.id)).slice(0, MAX_EXTRA_BANK_DOCS);
        if (others.length > 0) {
          const otherTexts = await Promise.all(others.map((d) => getDocumentText(d.id)));
          const extra = await compressor().chunk(otherTexts, request);
          // One context per contrast document (its first chunk) keeps the run small.
          const added = extra.chunks.flatMap((list, d) => (list[0] ? [{ docId: others[d].id, chunkIndex: 0, text: list[0].text }] : []));
          bank = [...bank, ...added];
          if (added.length > 0) {
            this.notice =
              `The selected document gives one context, and MI needs at least two: ${added.length} other ` +
              `librar${added.length === 1 ? 'y document was' : 'y documents were'} added as contrast. ` +
              'Only the selected document’s compressions are sent to the predictor.';
          }
        }
      }
      this.bank = bank;
      // The run's Web Lock is taken before `running` is written, and held until its final status
      // is: another tab never sees it running without its lock (and so never calls it interrupted).
      const newId = crypto.randomUUID();
      await withRunLock(newId, async () => {
        const run = await createRun({
          id: newId,
          question,
          docIds: questionIds,
          modelId: written?.id ?? info.id,
          ...(written ? { scorerModelId: info.id, compressorHost: written.host } : {}),
          settings,
          bank,
          engineReport: info.loadReport,
        });
        runId = run.id;
        this.runId = run.id;
        announceRun({ runId: run.id, status: 'running' });
        await library.refresh();
        await this.execute(run.id, bank, settings, question, [], written?.id);
      });
    } catch (err) {
      if (runId === null && errorName(err) === 'InterruptedError') {
        // Cancel pressed while the worker was still splitting the documents: nothing was stored.
        this.clearLive();
        this.state = 'cancelled';
        this.notice = 'Cancelled while splitting the documents into passages. Nothing was stored; start again when ready.';
        return;
      }
      engine.noteFailure(err);
      await this.failRun(runId, err);
    } finally {
      await library.refresh();
    }
  }

  /** The next run's settings for this model (top_p fixed at 1; a sentence budget only for chat models). */
  /** `written`: a generate-only server writes from the chat template, whatever the scorer's style. */
  settingsFor(info: ModelInfo, written = false): RunSettings {
    return {
      temperature: this.temperature,
      topP: 1,
      maxTokens: this.maxTokens,
      seed: this.seed,
      samplesPerContext: this.samplesPerContext,
      ...((written || info.promptStyle === 'chat') && this.sentenceBudget > 0 ? { sentenceBudget: this.sentenceBudget } : {}),
    };
  }

  /** What the next run's passages must leave room for (the document view's preview uses it too). */
  chunkRequestFor(info: ModelInfo): ChunkRequest {
    return chunkRequest(this.question.trim(), this.settingsFor(info));
  }

  /** Cancel the running run at the next token; finished compressions stay saved. */
  async cancel(): Promise<void> {
    if (!this.busy) return;
    await compressor().interrupt();
  }

  /** Show a saved run (from the runs list). */
  async reopen(runId: string, library: LibraryStore): Promise<void> {
    if (this.busy) return;
    this.elsewhere = false;
    try {
      const details = await getRun(runId);
      if (!details) throw new Error('That run is no longer stored.');
      const { run, compressions, exchanges } = details;
      this.reset();
      this.titles = new Map(library.documents.map((d) => [d.id, d.title]));
      this.questionDocIds = new Set(run.docIds);
      this.runId = run.id;
      this.runQuestion = run.question;
      this.question = run.question;
      this.runModelId = run.modelId;
      this.bank = run.bank;
      this.state = run.status;
      this.error = run.error;
      this.result = (run.miResult as StoredMiResult | null) ?? null;
      this.compressions = compressions.map((c) => this.viewOfRecord(c));
      this.exchanges = exchanges.map(exchangeOfRecord);
      this.rawTexts = await Promise.all(run.docIds.map((id) => getDocumentText(id).catch(() => '')));
      if (run.status === 'running') {
        // This tab is not driving it (reopen is refused while busy): another tab is, if it holds
        // the run's lock; otherwise that tab is gone and the run was cut short.
        if (await isRunLockHeld(run.id)) {
          this.elsewhere = true;
          this.notice = 'This run is running in another tab. It is shown read-only here and updates as that tab saves compressions.';
          return;
        }
        await markInterruptedRuns();
        this.state = 'interrupted';
      }
      if (this.state === 'interrupted') {
        this.notice = `This run was cut short (a reload or a crash) after ${compressions.length} of ${run.bank.length * run.settings.samplesPerContext} compressions. Load ${run.modelId} and resume it.`;
      }
    } catch (err) {
      this.fail({ name: errorName(err), message: errorMessage(err) });
    }
  }

  /** Continue an interrupted, cancelled or failed run without redoing finished compressions. */
  async resume(engine: EngineStore, library: LibraryStore, writer?: ChatCompressorStore): Promise<void> {
    const runId = this.runId;
    if (!runId || this.busy) return;
    this.error = null;
    this.notice = null;
    try {
      const details = await getRun(runId);
      if (!details) throw new Error('That run is no longer stored.');
      const { run, compressions } = details;
      // The stored run is checked again (it may be imported or older): the worker gets only
      // a bank and settings within the limits a new run has.
      const problem = resumeProblem(run);
      if (problem) {
        this.fail({ name: 'InvalidRunError', message: `This run cannot be resumed: its ${problem.path} ${problem.problem}.` });
        return;
      }
      if (run.scorerModelId) {
        // Written by a generate-only server, scored by the loaded engine: both must be the same again.
        if (!writer?.ready || writer.info?.id !== run.modelId || engine.state !== 'ready' || engine.info?.id !== run.scorerModelId) {
          this.fail({
            name: 'ModelMismatchError',
            message: `This run was written by ${run.modelId} and scored by ${run.scorerModelId}. Connect that server and load that scorer to resume it, so every compression comes from the same channel and is read the same way.`,
          });
          return;
        }
      } else if (engine.state !== 'ready' || engine.info?.id !== run.modelId || writer?.ready) {
        this.fail({
          name: 'ModelMismatchError',
          message: `This run was made with ${run.modelId}. Load that model to resume it${writer?.ready ? ' (and disconnect the generate-only server)' : ''}, so every compression comes from the same channel.`,
        });
        return;
      }
      const resume: GeneratedCompression[] = await Promise.all(
        compressions.map(async (c) => ({
          context: c.context,
          sample: c.sample,
          // Records written before seeds and token texts were kept: derive them.
          seed: c.seed ?? sampleSeed(run.settings.seed, c.index),
          text: c.text,
          tokenTexts: c.tokenTexts ?? (await Promise.all(c.ids.map((id) => compressor().detokenize([id])))),
          ids: c.ids,
          logprobsNats: c.logprobsNats,
          stopReason: c.stopReason ?? (c.truncated ? 'length' : 'stop'),
          truncated: c.truncated,
          empty: c.empty,
        })),
      );
      this.state = 'running';
      await withRunLock(runId, async () => {
        await setRunStatus(runId, 'running');
        announceRun({ runId, status: 'running' });
        await library.refresh();
        await this.execute(runId, run.bank, run.settings, run.question, resume, run.scorerModelId ? run.modelId : undefined);
      });
    } catch (err) {
      engine.noteFailure(err);
      await this.failRun(runId, err);
    } finally {
      await library.refresh();
    }
  }

  /** Another tab changed the run shown read-only: read it again (or clear it when deleted). */
  private async followElsewhere(deleted: boolean): Promise<void> {
    const runId = this.runId;
    const details = deleted || !runId ? undefined : await getRun(runId).catch(() => undefined);
    if (!details || this.runId !== runId || !this.elsewhere) {
      if (deleted && this.runId === runId) {
        this.elsewhere = false;
        this.forget();
      }
      return;
    }
    const { run, compressions, exchanges } = details;
    this.compressions = compressions.map((c) => this.viewOfRecord(c));
    this.exchanges = exchanges.map(exchangeOfRecord);
    this.result = (run.miResult as StoredMiResult | null) ?? null;
    this.error = run.error;
    this.state = run.status;
    if (run.status !== 'running') {
      this.elsewhere = false;
      this.notice = `The other tab finished this run: it ended ${run.status}.`;
    }
  }

  /** The shown run was deleted: clear the view (settings and question stay). */
  forget(): void {
    if (this.busy) return;
    this.reset();
    this.state = 'idle';
    this.notice = null;
  }

  /** Save a predictor exchange with the run it answered. */
  async recordExchange(exchange: Exchange): Promise<void> {
    this.exchanges = [...this.exchanges, exchange];
    const runId = exchange.runId ?? this.runId;
    if (!runId) return;
    try {
      await logExchange(runId, {
        host: exchange.host,
        model: exchange.model,
        at: Date.parse(exchange.time) || Date.now(),
        messages: exchange.messages,
        response: exchange.responseText,
        usage: exchange.usage ?? null,
        durationMs: exchange.durationMs,
        error: exchange.errorName ? { name: exchange.errorName, message: exchange.errorMessage ?? '' } : null,
      });
    } catch (err) {
      this.error = { name: errorName(err), message: `The exchange was shown but could not be saved: ${errorMessage(err)}` };
    }
  }

  private async execute(
    runId: string,
    bank: BankEntry[],
    settings: RunSettings,
    question: string,
    resume: GeneratedCompression[],
    writerId?: string,
  ): Promise<void> {
    const m = settings.samplesPerContext;
    const request: EstimateRequest = {
      contexts: bank.map((b) => b.text),
      question,
      samplesPerContext: m,
      settings: { temperature: settings.temperature, topP: settings.topP, maxTokens: settings.maxTokens, seed: settings.seed },
      ...(settings.sentenceBudget ? { sentenceBudget: settings.sentenceBudget } : {}),
      resume,
      generateOnly: bank.length < 2,
    };
    this.state = 'running';
    this.compressions = resume
      .map((c) => this.viewOf(c, c.context * m + c.sample))
      .sort((a, b) => a.index - b.index);
    const onProgress = (p: EstimateProgress) => {
      this.progress = p;
    };
    const onCompression = async (c: GeneratedCompression) => {
      const index = c.context * m + c.sample;
      await appendCompression(runId, {
        index,
        context: c.context,
        sample: c.sample,
        seed: c.seed,
        text: c.text,
        tokenTexts: c.tokenTexts,
        ids: c.ids,
        logprobsNats: c.logprobsNats,
        stopReason: c.stopReason === 'length' ? 'length' : 'stop',
        truncated: c.truncated,
        empty: c.empty,
      });
      announceRun({ runId, status: 'running', compression: true });
      this.clearLive();
      this.compressions = [...this.compressions, this.viewOf(c, index)].sort((a, b) => a.index - b.index);
    };
    const onToken = (context: number, sample: number, event: TokenEvent) => {
      const current = this.livePending ?? this.live;
      const same = current && current.context === context && current.sample === sample;
      this.livePending = {
        context,
        sample,
        text: (same ? current.text : '') + event.text,
        tokens: event.index + 1,
      };
      this.liveTimer ??= setTimeout(() => {
        this.liveTimer = null;
        if (this.livePending) this.live = this.livePending;
      }, LIVE_INTERVAL_MS);
    };
    // The caller holds the run's lock for all of this (start, resume).
    const via = writerId ? { compressorId: writerId } : undefined;
    const outcome = (await compressor().estimate(request, proxy(onProgress), proxy(onCompression), proxy(onToken), via)) as EstimateOutcome;
    this.clearLive();
    this.progress = null;
    if (outcome.status === 'cancelled') {
      await finishRun(runId, 'cancelled');
      announceRun({ runId, status: 'cancelled' });
      this.state = 'cancelled';
      this.notice = `Cancelled while ${outcome.phase}. ${outcome.compressions.length} finished compression${outcome.compressions.length === 1 ? ' is' : 's are'} saved; resume to continue.`;
      return;
    }
    const base = {
      modelId: outcome.modelId,
      promptStyle: outcome.promptStyle,
      templateVersion: outcome.templateVersion,
      promptTokens: outcome.contexts.map((c) => c.promptIds.length),
      timings: outcome.timings,
      counters: outcome.counters,
    };
    if (outcome.status === 'generated') {
      const result: StoredMiResult = { ...base, kind: 'not-measured', reason: new NotEnoughContextsError(bank.length).message };
      await finishRun(runId, 'done', { miResult: result, error: null });
      announceRun({ runId, status: 'done' });
      this.result = result;
      this.state = 'done';
      return;
    }
    const result: StoredMiResult = {
      ...base,
      kind: 'measured',
      summary: outcome.summary,
      warnings: outcome.warnings,
      flags: outcome.flags,
      scorerModelId: outcome.scorerModelId,
    };
    const scored = new Map(outcome.compressions.map((c) => [c.context * m + c.sample, c]));
    await completeRun(
      runId,
      result,
      [...scored].map(([index, c]) => ({ index, termNats: c.termNats, pmiNats: c.pmiNats })),
    );
    announceRun({ runId, status: 'done' });
    this.compressions = this.compressions.map((v) => {
      const c = scored.get(v.index);
      return c ? { ...v, termBits: c.termNats / Math.LN2, tokens: heat(c.tokenTexts, c.pmiNats) } : v;
    });
    this.result = result;
    this.state = 'done';
  }

  private viewOf(c: Pick<GeneratedCompression, 'context' | 'sample' | 'text' | 'ids' | 'truncated' | 'empty'>, index: number): CompressionView {
    const entry = this.bank[c.context];
    return {
      index,
      context: c.context,
      sample: c.sample,
      docId: entry?.docId ?? '',
      docTitle: this.titles.get(entry?.docId ?? '') ?? 'A deleted document',
      chunkIndex: entry?.chunkIndex ?? 0,
      ofQuestionDocs: this.questionDocIds.has(entry?.docId ?? ''),
      text: c.text,
      tokenCount: c.ids.length,
      truncated: c.truncated,
      empty: c.empty,
      termBits: null,
      tokens: null,
    };
  }

  private viewOfRecord(c: CompressionRecord): CompressionView {
    const view = this.viewOf(c, c.index);
    if (c.termNats !== undefined) view.termBits = c.termNats / Math.LN2;
    if (c.pmiNats && c.tokenTexts && c.pmiNats.length === c.tokenTexts.length) view.tokens = heat(c.tokenTexts, c.pmiNats);
    return view;
  }

  private reset(): void {
    this.clearLive();
    this.elsewhere = false;
    this.runId = null;
    this.bank = [];
    this.budgetTokens = null;
    this.progress = null;
    this.compressions = [];
    this.result = null;
    this.error = null;
    this.rawTexts = [];
    this.exchanges = [];
  }

  private clearLive(): void {
    if (this.liveTimer) clearTimeout(this.liveTimer);
    this.liveTimer = null;
    this.livePending = null;
    this.live = null;
  }

  private fail(error: { name: string; message: string }): void {
    this.error = error;
    if (!this.busy && this.runId === null) this.state = 'idle';
  }

  /** Record a failure on the run (when it exists) and in the view. */
  private async failRun(runId: string | null, err: unknown): Promise<void> {
    this.clearLive();
    this.progress = null;
    const error = { name: errorName(err), message: errorMessage(err) };
    this.error = error;
    this.state = 'failed';
    if (runId) {
      try {
        await finishRun(runId, 'failed', { error });
        announceRun({ runId, status: 'failed' });
      } catch {
        // The database refused too (quota, closed): the next start marks the run interrupted.
      }
    }
  }
}

/** What is wrong with the settings, in words, or null. */
function settingsProblem(d: RunDraft, window: number): string | null {
  const whole = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
  if (!whole(d.samplesPerContext, 1, 8)) return 'Samples per passage must be a whole number from 1 to 8.';
  if (!whole(d.maxTokens, 1, window)) return `The token budget must be a whole number from 1 to ${window} (the model's window).`;
  if (!(typeof d.temperature === 'number' && d.temperature >= 0 && d.temperature <= 2)) return 'Temperature must be between 0 and 2.';
  if (!whole(d.seed, 0, 2 ** 32 - 1)) return 'The seed must be a whole number from 0 to 4294967295.';
  if (!whole(d.sentenceBudget, 0, 50)) return 'The sentence budget must be a whole number from 0 (no budget) to 50.';
  return null;
}

/** The connected generate-only server that writes this run, null for none, or why it cannot. */
function writerOf(writer: ChatCompressorStore | undefined, scorer: ModelInfo): { id: string; host: string } | null | PrecisError {
  if (!writer?.ready || !writer.info) return null;
  const problem = writer.scorerProblem(scorer);
  if (problem) return new PrecisError('InvalidArgumentError', problem);
  return { id: writer.info.id, host: writer.info.host };
}

function tooLarge(passages: number, estimated: boolean): PrecisError {
  return new PrecisError(
    'BankTooLargeError',
    `The selected documents make ${estimated ? 'about ' : ''}${passages.toLocaleString()} passages for this model's window, and ` +
      `every compression is scored under every passage, so one run takes at most ${MAX_BANK_PASSAGES}. ` +
      'Select fewer or shorter documents (or paste the part that matters as a new document).',
  );
}

function chunkRequest(question: string, settings: RunSettings): ChunkRequest {
  return { question, maxTokens: settings.maxTokens, sentenceBudget: settings.sentenceBudget };
}

function heat(tokenTexts: string[], pmiNats: number[]): { text: string; bits: number }[] {
  return tokenTexts.map((text, t) => ({ text, bits: (pmiNats[t] ?? 0) / Math.LN2 }));
}

function exchangeOfRecord(r: ExchangeRecord): Exchange {
  return {
    id: `saved-${r.seq ?? r.at}`,
    runId: r.runId,
    host: r.host,
    url: r.host,
    model: r.model,
    time: new Date(r.at).toISOString(),
    durationMs: r.durationMs ?? 0,
    messages: r.messages,
    usage:
      r.usage && r.usage.totalTokens !== undefined
        ? { promptTokens: r.usage.promptTokens ?? 0, completionTokens: r.usage.completionTokens ?? 0, totalTokens: r.usage.totalTokens }
        : undefined,
    responseText: r.response,
    status: r.error ? 'error' : 'done',
    partial: false,
    finishReason: null,
    attempts: 1,
    ...(r.error ? { errorName: r.error.name, errorMessage: r.error.message } : {}),
  } as Exchange;
}
