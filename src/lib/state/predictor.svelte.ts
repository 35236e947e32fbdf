/**
 * Predictor settings as page state: endpoint, key, model, the connection test and the price
 * table. Persists through a PredictorStore (localStorage by default, see ../predictor/settings).
 *
 * Invariants: the key is kept in this object's memory; it reaches the store only while
 * `rememberKey` is true, and `forgetKey()` clears it from both at once. Nothing here logs, and
 * errors are kept as {name, message} (messages from ../predictor/errors never hold the key).
 */
import { listModels as realListModels } from '../predictor/client';
import { PRESETS, hostOf, isLocalHost, presetById, presetForBaseUrl, type PredictorPreset } from '../predictor/presets';
import { mergePrices, isValidPrice, type ModelPrice, type PriceTable } from '../predictor/pricing';
import { localStorageStore, type PredictorStore } from '../predictor/settings';

export type ConnectionState = 'idle' | 'testing' | 'ok' | 'error';

export interface PredictorStateOptions {
  /** Where settings persist; null keeps everything in memory. Default: localStorage. */
  store?: PredictorStore | null;
  /** Replaces the connection test's model listing (tests). */
  listModels?: typeof realListModels;
  /** Start values when nothing is saved yet (e.g. a demo endpoint). */
  defaults?: { baseUrl?: string; model?: string };
}

export class PredictorState {
  baseUrl = $state('');
  apiKey = $state('');
  model = $state('');
  presetId = $state('custom');
  rememberKey = $state(false);
  /** Models listed by the last successful connection test. */
  models = $state<string[]>([]);
  connection = $state<{ state: ConnectionState; message: string; errorName?: string }>({ state: 'idle', message: '' });
  /** The user's edits over the dated defaults. */
  userPrices = $state<PriceTable>({});

  readonly presets = PRESETS;
  prices = $derived(mergePrices(this.userPrices));
  host = $derived(hostOf(this.baseUrl));
  isLocal = $derived(isLocalHost(this.baseUrl));
  preset = $derived<PredictorPreset | undefined>(presetForBaseUrl(this.baseUrl) ?? presetById(this.presetId));
  /** Enough to send: a base URL and a model (a key is optional for local servers). */
  ready = $derived(this.baseUrl.trim() !== '' && this.model.trim() !== '');

  #store: PredictorStore | null;
  #listModels: typeof realListModels;
  #testAbort: AbortController | null = null;

  constructor(opts: PredictorStateOptions = {}) {
    this.#store = opts.store === undefined ? localStorageStore() : opts.store;
    this.#listModels = opts.listModels ?? realListModels;
    const saved = this.#store?.load();
    if (saved) {
      this.baseUrl = saved.baseUrl;
      this.model = saved.model;
      this.presetId = saved.presetId;
      this.rememberKey = saved.rememberKey;
      this.apiKey = saved.rememberKey ? (saved.apiKey ?? '') : '';
      this.userPrices = saved.prices;
    } else {
      this.baseUrl = opts.defaults?.baseUrl ?? '';
      this.model = opts.defaults?.model ?? '';
    }
  }

  /** Write the current settings (the key only if remembered). Call after any edit. */
  save(): void {
    this.#store?.save({
      baseUrl: this.baseUrl.trim(),
      model: this.model.trim(),
      presetId: this.presetId,
      rememberKey: this.rememberKey,
      apiKey: this.rememberKey ? this.apiKey : undefined,
      prices: { ...this.userPrices },
    });
  }

  applyPreset(id: string): void {
    const p = presetById(id);
    if (!p) return;
    this.presetId = p.id;
    if (p.id !== 'custom') {
      this.baseUrl = p.baseUrl;
      this.model = p.defaultModel;
    }
    this.models = [];
    this.connection = { state: 'idle', message: '' };
    this.save();
  }

  setRememberKey(remember: boolean): void {
    this.rememberKey = remember;
    this.save();
  }

  /** One click: the key leaves memory and this device's storage. */
  forgetKey(): void {
    this.apiKey = '';
    this.rememberKey = false;
    this.save();
  }

  setPrice(model: string, price: ModelPrice): void {
    const id = model.trim();
    if (!id || !isValidPrice(price)) return;
    this.userPrices = { ...this.userPrices, [id]: { ...price } };
    this.save();
  }

  resetPrices(): void {
    this.userPrices = {};
    this.save();
  }

  /** List the endpoint's models; fills `models` and picks one if none is chosen. */
  async testConnection(): Promise<void> {
    this.#testAbort?.abort();
    const ctl = new AbortController();
    this.#testAbort = ctl;
    this.connection = { state: 'testing', message: `Asking ${this.host} for its models…` };
    try {
      const ids = await this.#listModels({ baseUrl: this.baseUrl, apiKey: this.apiKey, signal: ctl.signal });
      if (ctl.signal.aborted) return;
      this.models = ids;
      if (!this.model.trim() && ids.length > 0) this.model = ids[0];
      this.connection = {
        state: 'ok',
        message: `Connected to ${this.host}: ${ids.length} model${ids.length === 1 ? '' : 's'} available.`,
      };
      this.save();
    } catch (err) {
      if (ctl.signal.aborted) return;
      const e = err as { name?: string; message?: string };
      this.connection = { state: 'error', errorName: e.name ?? 'Error', message: e.message ?? String(err) };
    } finally {
      if (this.#testAbort === ctl) this.#testAbort = null;
    }
  }

  /** What the client needs for one request. */
  endpoint(): { baseUrl: string; apiKey: string; model: string; streamUsage: boolean } {
    return {
      baseUrl: this.baseUrl.trim(),
      apiKey: this.apiKey,
      model: this.model.trim(),
      streamUsage: presetForBaseUrl(this.baseUrl)?.streamUsage ?? true,
    };
  }
}
