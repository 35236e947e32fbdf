/**
 * The Compare view's state: the grid being set up, the sweep running (progress over the whole
 * grid, time left, cancel), the sweeps saved on this device (list, open, resume, delete).
 *
 * A sweep runs the same runner as the command line (src/lib/core/sweep/run-sweep.ts) on the
 * main thread, driving the compressor worker through WorkerEngine: one model loaded at a time
 * (the worker's load replaces the previous one). Every finished compression, scored run and
 * answer is saved in IndexedDB at once (storage/sweeps.ts), so a reload leaves the sweep
 * `interrupted` with everything kept, and Resume continues from there.
 */
import type { Engine } from '../core/engine';
import { errorMessage, errorName } from '../core/errors';
import { parseItems, type EvalItem } from '../core/sweep/eval-items';
import type { JudgeKind } from '../core/sweep/judge';
import { estimateSweepSeconds, formatDuration, planHash, splitBank, validateGrid, SweepConfigError, type SweepPlan } from '../core/sweep/plan';
import { MAX_SWEEP_FILE_BYTES, SweepImportError, newSweepState, readSweepFile, runSweep, type CostFigures, type SweepOutput, type SweepProgress } from '../core/sweep/run-sweep';
import { askPredictor } from '../predictor/ask';
import { savings } from '../predictor/savings';
import { getDocumentText } from '../storage/documents';
import { createSweep, deleteSweep, getSweep, listSweeps, markInterruptedSweeps, saveSweep, withSweepLock, type SweepMeta, type SweepRecord, type SweepRecordStatus } from '../storage/sweeps';
import { compressor } from '../worker/client';
import { WorkerEngine } from '../worker/worker-engine';
import type { EngineStore } from './engine.svelte';
import type { LibraryStore } from './library.svelte';
import type { PredictorState } from './predictor.svelte';

export type SweepViewState = 'idle' | SweepRecordStatus;

/** Grids estimated above this are refused; above WARN_SECONDS they need a confirmation. */
export const LIMIT_SECONDS = 2 * 3600;
export const WARN_SECONDS = 10 * 60;

function numbers(text: string, what: string): number[] {
  const parts = text.split(/[\s,]+/).filter((s) => s !== '');
  const out = parts.map(Number);
  if (parts.length === 0 || out.some((x) => !Number.isFinite(x))) throw new SweepConfigError(`${what}: enter numbers separated by commas.`);
  return out;
}

export class SweepStore {
  // The grid.
  models = $state<string[]>([]);
  budgets = $state('8, 16');
  budgetUnit = $state<'tokens' | 'sentences'>('tokens');
  maxTokens = $state(64);
  temperatures = $state('1');
  seeds = $state('0');
  samples = $state(1);
  scorer = $state('self');
  question = $state('');
  passageChars = $state(400);
  items = $state<EvalItem[] | null>(null);
  itemsName = $state('');
  itemsError = $state<{ name: string; message: string } | null>(null);
  judge = $state<JudgeKind>('choice');
  baselineNone = $state(true);
  baselineRaw = $state(false);
  sendRawContext = $state(false);
  confirmLong = $state(false);

  // The sweep shown.
  state = $state<SweepViewState>('idle');
  record = $state<SweepRecord | null>(null);
  output = $state<SweepOutput | null>(null);
  progress = $state<SweepProgress | null>(null);
  message = $state('');
  error = $state<{ name: string; message: string } | null>(null);
  /** Why the last sweep file could not be opened. */
  openError = $state<{ name: string; message: string } | null>(null);
  list = $state<SweepMeta[]>([]);
  busy = $state(false);

  private signal = { aborted: false };
  private abort = new AbortController();

  async init(): Promise<void> {
    await markInterruptedSweeps();
    await this.refresh();
  }

  async refresh(): Promise<void> {
    this.list = await listSweeps();
  }

  loadItems(text: string, name: string): void {
    try {
      this.items = parseItems(text, name);
      this.itemsName = name;
      this.itemsError = null;
      if (this.items.some((it) => !it.options) && this.judge === 'choice') this.judge = 'exact';
      if (this.items.every((it) => it.options)) this.judge = 'choice';
    } catch (err) {
      this.items = null;
      this.itemsName = '';
      this.itemsError = { name: errorName(err), message: errorMessage(err) };
    }
  }

  clearItems(): void {
    this.items = null;
    this.itemsName = '';
  }

  /** The plan from the form and the library's selection (throws SweepConfigError). */
  async planFrom(library: LibraryStore): Promise<SweepPlan> {
    const grid = validateGrid({
      models: [...this.models],
      budgets: numbers(this.budgets, 'Budgets'),
      budgetUnit: this.budgetUnit,
      maxTokens: this.maxTokens,
      temperatures: numbers(this.temperatures, 'Temperatures'),
      seeds: numbers(this.seeds, 'Seeds'),
      samples: this.samples,
      scorer: this.scorer,
    });
    const base = { engine: 'page', ...grid, baselines: { none: false, raw: false } };
    if (this.items) {
      const bank: string[] = [];
      const itemContext = this.items.map((it) => {
        let k = bank.indexOf(it.context);
        if (k < 0) k = bank.push(it.context) - 1;
        return k;
      });
      if (bank.length < 2) throw new SweepConfigError(`MI needs at least two distinct contexts; the items have ${bank.length}.`);
      if (this.baselineRaw && !this.sendRawContext) {
        throw new SweepConfigError('the raw-context baseline sends each item\'s raw text to the predictor: tick the box that allows it, or untick the baseline.');
      }
      if (this.judge === 'choice' && this.items.some((it) => !it.options)) throw new SweepConfigError('the letter judge needs options on every item.');
      return {
        ...base,
        bank,
        question: '',
        items: $state.snapshot(this.items) as EvalItem[],
        itemContext,
        judge: this.judge,
        baselines: { none: this.baselineNone, raw: this.baselineRaw && this.sendRawContext },
      };
    }
    const texts: string[] = [];
    for (const d of library.selectedDocuments) texts.push(await getDocumentText(d.id));
    const bank = await splitBank(texts, this.passageChars);
    if (bank.length < 2) throw new SweepConfigError(`MI needs a bank of at least two passages; the selected documents give ${bank.length}. Select more documents or import an evaluation set.`);
    return { ...base, bank, question: this.question.trim() };
  }

  /** Seconds the grid should take (assumed rates of the engines; shown as an estimate). */
  estimate(plan: SweepPlan): number {
    const gpu = plan.models.some((m) => !m.startsWith('reference:'));
    return estimateSweepSeconds(plan, {
      decodeTokensPerSecond: gpu ? 15 : 1500,
      prefillTokensPerSecond: gpu ? 150 : 2500,
      promptTokens: Math.ceil(plan.bank.reduce((a, t) => a + t.length, 0) / plan.bank.length / (gpu ? 4 : 2)),
      predictorSecondsPerCall: 2,
    });
  }

  async start(deps: { engine: EngineStore; library: LibraryStore; predictor: PredictorState }): Promise<void> {
    if (this.busy) return;
    this.error = null;
    let plan: SweepPlan;
    try {
      plan = await this.planFrom(deps.library);
      if (plan.items && !deps.predictor.ready) throw new SweepConfigError('an evaluation needs a predictor: set its base URL and model in Send.');
      const seconds = this.estimate(plan);
      if (seconds > LIMIT_SECONDS) {
        throw new SweepConfigError(`this grid would take about ${formatDuration(seconds)}, over the ${formatDuration(LIMIT_SECONDS)} limit. Use fewer models, budgets, temperatures, seeds, samples or items.`);
      }
      if (seconds > WARN_SECONDS && !this.confirmLong) {
        throw new SweepConfigError(`this grid would take about ${formatDuration(seconds)}. Tick "I know it is long" to start it anyway.`);
      }
    } catch (err) {
      this.error = { name: errorName(err), message: errorMessage(err) };
      return;
    }
    const state = newSweepState(plan, planHash(plan));
    const name = `${plan.models.length} model${plan.models.length === 1 ? '' : 's'} × ${plan.budgets.length} budget${plan.budgets.length === 1 ? '' : 's'}${plan.items ? ` · ${this.itemsName}` : ''}`;
    const record = await createSweep({ name, plan, state });
    await this.refresh();
    await this.drive(record, deps);
  }

  async resume(id: string, deps: { engine: EngineStore; library: LibraryStore; predictor: PredictorState }): Promise<void> {
    if (this.busy) return;
    const record = await getSweep(id);
    if (!record) return;
    this.error = null;
    await this.drive(record, deps);
  }

  /** A sweep file the command line wrote, opened to be shown (and kept with the saved sweeps). */
  async openFile(file: { name: string; size: number; text(): Promise<string> }): Promise<void> {
    if (this.busy) return;
    this.openError = null;
    try {
      if (file.size > MAX_SWEEP_FILE_BYTES) {
        throw new SweepImportError(file.name, `it is ${Math.round(file.size / 1048576)} MB; this page opens sweep files up to ${MAX_SWEEP_FILE_BYTES / 1048576} MB.`);
      }
      const state = readSweepFile(await file.text(), file.name);
      const status = state.status === 'done' ? 'done' : 'cancelled';
      const configs = state.configs.length;
      const record = await createSweep({ name: `${file.name} · ${configs} configuration${configs === 1 ? '' : 's'}`, plan: null, state, status, importedFrom: file.name });
      await this.refresh();
      await this.open(record.id);
    } catch (err) {
      this.openError = { name: errorName(err), message: errorMessage(err) };
    }
  }

  async open(id: string): Promise<void> {
    if (this.busy) return;
    const record = await getSweep(id);
    if (!record) return;
    this.record = record;
    this.output = record.state;
    this.state = record.status;
    this.error = record.error;
    this.progress = null;
  }

  async remove(id: string): Promise<void> {
    if (this.busy && this.record?.id === id) return;
    await deleteSweep(id);
    if (this.record?.id === id) {
      this.record = null;
      this.output = null;
      this.state = 'idle';
    }
    await this.refresh();
  }

  async cancel(): Promise<void> {
    this.signal.aborted = true;
    this.abort.abort();
    await compressor().interrupt();
  }

  private async drive(record: SweepRecord, deps: { engine: EngineStore; predictor: PredictorState }): Promise<void> {
    const plan = record.plan;
    if (plan === null) {
      this.error = {
        name: 'SweepResumeError',
        message: `Cannot resume this sweep: it was opened from ${record.importedFrom ?? 'a file'}. Resume it where it was run: npm run --silent sweep -- --config FILE --out ${record.importedFrom ?? 'FILE'}.`,
      };
      return;
    }
    this.busy = true;
    this.signal = { aborted: false };
    this.abort = new AbortController();
    const signal = this.signal;
    const abortSignal = this.abort.signal;
    this.record = record;
    this.output = record.state;
    this.state = 'running';
    record.status = 'running';
    record.error = null;
    const endpoint = deps.predictor.endpoint();
    const prices = $state.snapshot(deps.predictor.prices);
    let last = 0;
    try {
      await withSweepLock(record.id, async () => {
        await saveSweep(record);
        await runSweep(plan, record.state, {
          loadEngine: async (model): Promise<Engine> => {
            const info = await deps.engine.loadForSweep(model);
            return new WorkerEngine(info);
          },
          releaseEngine: async () => {},
          save: async (s) => {
            record.state = s;
            await saveSweep(record);
            // Re-render the table at most every 300 ms while running.
            const now = Date.now();
            if (now - last > 300 || s.status !== 'running') {
              last = now;
              this.output = JSON.parse(JSON.stringify(s)) as SweepOutput;
            }
          },
          predict: (messages) => askPredictor(endpoint, messages, abortSignal),
          judge: (messages) => askPredictor(endpoint, messages, abortSignal),
          costModel: endpoint.model || 'gpt-4o',
          costOf: async (compressed, raw): Promise<CostFigures> => {
            const s = await savings({ compressedMessages: compressed, rawMessages: raw, model: endpoint.model || 'gpt-4o', prices });
            return { compressedTokens: s.compressedTokens, rawTokens: s.rawTokens, compressedCostUsd: s.compressedCostUsd, rawCostUsd: s.rawCostUsd, tokensAreEstimate: s.tokensAreEstimate };
          },
          signal,
          onProgress: (p) => {
            this.progress = p;
            this.message = p.detail;
          },
        });
      });
      const s = record.state;
      record.status = s.status === 'cancelled' ? 'cancelled' : 'done';
    } catch (err) {
      record.status = 'failed';
      record.error = { name: errorName(err), message: errorMessage(err) };
      this.error = record.error;
    } finally {
      await saveSweep(record).catch(() => undefined);
      this.output = JSON.parse(JSON.stringify(record.state)) as SweepOutput;
      this.state = record.status;
      this.busy = false;
      await this.refresh();
    }
  }
}
