/**
 * Predictor settings as page state: endpoint, key, model, the connection test, auto-send, the
 * answer limits and the price table. Persists through a PredictorStore (localStorage by default,
 * see ../predictor/settings).
 *
 * Invariants:
 * - The key is kept in this object's memory; it reaches the store only while `rememberKey` is
 *   true (each key under its origin), and `forgetKey()` clears every key from both at once.
 * - A key belongs to the origin it was entered for (`keyOrigin`). When the base URL moves to
 *   another origin, the key of that origin (this visit's or a remembered one) takes its place;
 *   without one, the old key stays in the field but `endpoint()` refuses every request
 *   (`KeyNotConfirmedError`) until `confirmKey()` or a new key. A plain-http endpoint on another
 *   machine needs `confirmInsecure()` first; one the page's CSP blocks is refused by name.
 * - Auto-send is armed for the endpoint (base URL and model) it was switched on with; changing
 *   the base URL, preset or model switches it off and says so (`autoSendNotice`).
 * Nothing here logs, and errors are kept as {name, message} (messages never hold the key).
 */
import { listModels as realListModels, DEFAULT_DEADLINE_MS, DEFAULT_MAX_TOKENS } from '../predictor/client';
import {
  EndpointBlockedError,
  InsecureEndpointError,
  KeyNotConfirmedError,
  type PredictorError,
} from '../predictor/errors';
import { KeyRing, isPlainHttpRemote, originOf } from '../predictor/key-origin';
import { PRESETS, hostOf, isLocalHost, normalizeBaseUrl, presetById, presetForBaseUrl, type PredictorPreset } from '../predictor/presets';
import { mergePrices, isValidPrice, type ModelPrice, type PriceTable } from '../predictor/pricing';
import { localStorageStore, type PredictorStore } from '../predictor/settings';
import { pageMayConnect } from '../csp/page-policy';

export type ConnectionState = 'idle' | 'testing' | 'ok' | 'error';

export interface PredictorStateOptions {
  /** Where settings persist; null keeps everything in memory. Default: localStorage. */
  store?: PredictorStore | null;
  /** Replaces the connection test's model listing (tests). */
  listModels?: typeof realListModels;
  /** Start values when nothing is saved yet (e.g. a demo endpoint). */
  defaults?: { baseUrl?: string; model?: string };
  /** Would the page's Content-Security-Policy allow a request to this URL? Default: read the page's meta tag. */
  mayConnect?: (url: string) => boolean;
}

export interface AutoSendTarget {
  baseUrl: string;
  model: string;
}

export class PredictorState {
  #store: PredictorStore | null;
  #listModels: typeof realListModels;
  #mayConnect: (url: string) => boolean = (url) => pageMayConnect(url);
  #keys: KeyRing;
  #testAbort: AbortController | null = null;
  #baseUrl = $state('');
  #apiKey = $state('');
  #model = $state('');
  presetId = $state('custom');
  rememberKey = $state(false);
  /** The origin the key in memory was entered or confirmed for ('' when typed with no endpoint set). */
  keyOrigin = $state('');
  /** The plain-http origin the user accepted sending to (see `insecure`). */
  insecureAccepted = $state('');
  /** Models listed by the last successful connection test. */
  models = $state<string[]>([]);
  connection = $state<{ state: ConnectionState; message: string; errorName?: string }>({ state: 'idle', message: '' });
  /** The user's edits over the dated defaults. */
  userPrices = $state<PriceTable>({});
  /** max_tokens asked for each answer; the answer's size cap follows from it (client.ts). */
  maxTokens = $state(DEFAULT_MAX_TOKENS);
  /** Longest time a whole answer may take. */
  deadlineMs = $state(DEFAULT_DEADLINE_MS);
  /** Where auto-send sends; null when auto-send is off. */
  autoSendTarget = $state<AutoSendTarget | null>(null);
  /** Why auto-send was switched off by the app (shown beside the switch); '' when it was not. */
  autoSendNotice = $state('');

  readonly presets = PRESETS;
  prices = $derived(mergePrices(this.userPrices));
  host = $derived(hostOf(this.#baseUrl));
  origin = $derived(originOf(this.#baseUrl));
  isLocal = $derived(isLocalHost(this.#baseUrl));
  preset = $derived<PredictorPreset | undefined>(presetForBaseUrl(this.#baseUrl) ?? presetById(this.presetId));
  /** Enough to send: a base URL and a model (a key is optional for local servers). */
  ready = $derived(this.#baseUrl.trim() !== '' && this.#model.trim() !== '');
  /** A key is in memory but was entered for another origin: it must be confirmed before use. */
  keyNeedsConfirm = $derived(this.#apiKey !== '' && this.origin !== '' && this.keyOrigin !== this.origin);
  /** Plain http to another machine. */
  insecure = $derived(isPlainHttpRemote(this.#baseUrl));
  /** The page's policy refuses this endpoint (the built app allows plain http only to loopback). */
  blockedByPolicy = $derived(this.origin !== '' && !this.#mayConnect(`${normalizeBaseUrl(this.#baseUrl)}/models`));
  autoSend = $derived(this.autoSendTarget !== null);


  constructor(opts: PredictorStateOptions = {}) {
    this.#store = opts.store === undefined ? localStorageStore() : opts.store;
    this.#listModels = opts.listModels ?? realListModels;
    this.#mayConnect = opts.mayConnect ?? ((url) => pageMayConnect(url));
    const saved = this.#store?.load();
    this.#keys = new KeyRing(saved?.rememberKey ? saved.apiKeys : {});
    if (saved) {
      this.#baseUrl = saved.baseUrl;
      this.#model = saved.model;
      this.presetId = saved.presetId;
      this.rememberKey = saved.rememberKey;
      this.userPrices = saved.prices;
      if (saved.maxTokens) this.maxTokens = saved.maxTokens;
      if (saved.deadlineMs) this.deadlineMs = saved.deadlineMs;
      const origin = originOf(saved.baseUrl);
      const key = this.#keys.keyFor(origin);
      if (key) {
        this.#apiKey = key;
        this.keyOrigin = origin;
      }
    } else {
      this.#baseUrl = opts.defaults?.baseUrl ?? '';
      this.#model = opts.defaults?.model ?? '';
    }
  }

  get baseUrl(): string {
    return this.#baseUrl;
  }

  /** Every edit of the base URL switches auto-send off; a new origin brings its own key. */
  set baseUrl(value: string) {
    if (value === this.#baseUrl) return;
    const before = originOf(this.#baseUrl);
    this.#baseUrl = value;
    this.#endpointChanged('base URL');
    const after = originOf(value);
    if (after !== before) this.#originChanged(after);
  }

  get model(): string {
    return this.#model;
  }

  set model(value: string) {
    if (value === this.#model) return;
    this.#model = value;
    this.#endpointChanged('model');
  }

  get apiKey(): string {
    return this.#apiKey;
  }

  /** A key typed (or set) now belongs to the current origin. */
  set apiKey(value: string) {
    this.#apiKey = value;
    this.keyOrigin = value ? this.origin : '';
    if (this.origin) this.#keys.set(this.origin, value, this.rememberKey);
  }

  /** Use the key in memory for the current origin too (the user's explicit confirmation). */
  confirmKey(): void {
    if (!this.#apiKey || !this.origin) return;
    this.keyOrigin = this.origin;
    this.#keys.set(this.origin, this.#apiKey, this.rememberKey);
    this.save();
  }

  /** Accept sending the key and compressions over plain http to this (non-loopback) origin. */
  confirmInsecure(): void {
    if (this.insecure) this.insecureAccepted = this.origin;
  }

  /** Write the current settings (keys only if remembered). Call after any edit. */
  save(): void {
    const keys = this.#keys.remembered();
    this.#store?.save({
      baseUrl: this.#baseUrl.trim(),
      model: this.#model.trim(),
      presetId: this.presetId,
      rememberKey: this.rememberKey,
      apiKeys: this.rememberKey && Object.keys(keys).length > 0 ? keys : undefined,
      prices: { ...this.userPrices },
      maxTokens: this.maxTokens === DEFAULT_MAX_TOKENS ? undefined : this.maxTokens,
      deadlineMs: this.deadlineMs === DEFAULT_DEADLINE_MS ? undefined : this.deadlineMs,
    });
  }

  applyPreset(id: string): void {
    const p = presetById(id);
    if (!p) return;
    this.#endpointChanged('provider preset');
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
    if (remember) {
      // Only keys that belong to their origin: a key waiting for confirmation is not stored.
      if (this.#apiKey && this.origin && !this.keyNeedsConfirm) this.#keys.set(this.origin, this.#apiKey, false);
      this.#keys.rememberAll();
    } else {
      this.#keys.forgetRemembered();
    }
    this.save();
  }

  /** One click: every key leaves memory and this device's storage. */
  forgetKey(): void {
    this.#apiKey = '';
    this.keyOrigin = '';
    this.rememberKey = false;
    this.#keys.clear();
    this.save();
  }

  /** Answer limits (from the settings' inputs); out-of-range values are ignored. */
  setLimits(limits: { maxTokens?: number; deadlineSeconds?: number }): void {
    const t = limits.maxTokens;
    if (t !== undefined && Number.isInteger(t) && t >= 1 && t <= 1_000_000) this.maxTokens = t;
    const d = limits.deadlineSeconds;
    if (d !== undefined && Number.isFinite(d) && d >= 1 && d <= 24 * 3600) this.deadlineMs = Math.round(d * 1000);
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

  /** Switch auto-send on for the current endpoint, or off. */
  setAutoSend(on: boolean): void {
    this.autoSendNotice = '';
    this.autoSendTarget = on ? { baseUrl: normalizeBaseUrl(this.#baseUrl), model: this.#model.trim() } : null;
  }

  /** True while auto-send is on and the endpoint is still the one it was switched on for. */
  autoSendMatches(): boolean {
    const t = this.autoSendTarget;
    return t !== null && t.baseUrl === normalizeBaseUrl(this.#baseUrl) && t.model === this.#model.trim();
  }

  /** Switch auto-send off because something changed under it, and say so. */
  stopAutoSend(reason: string): void {
    if (!this.autoSendTarget) return;
    const host = hostOf(this.autoSendTarget.baseUrl);
    this.autoSendTarget = null;
    this.autoSendNotice = `Auto-send was switched off because ${reason}. It was set to send to ${host}; switch it on again to send automatically to the new endpoint.`;
  }

  /**
   * Why no request may go to the current endpoint now, as a named error; null when one may.
   * Checked before every request: the connection test and every send.
   */
  requestProblem(): PredictorError | null {
    if (!this.origin) return null; // the client names a missing or malformed URL itself
    if (this.blockedByPolicy) return new EndpointBlockedError(this.origin);
    if (this.insecure && this.insecureAccepted !== this.origin) return new InsecureEndpointError(this.origin);
    if (this.keyNeedsConfirm) return new KeyNotConfirmedError(this.keyOrigin, this.origin);
    return null;
  }

  /** List the endpoint's models; fills `models` and picks one if none is chosen. */
  async testConnection(): Promise<void> {
    this.#testAbort?.abort();
    const problem = this.requestProblem();
    if (problem) {
      this.connection = { state: 'error', errorName: problem.name, message: problem.message };
      return;
    }
    const ctl = new AbortController();
    this.#testAbort = ctl;
    this.connection = { state: 'testing', message: `Asking ${this.host} for its models…` };
    try {
      const ids = await this.#listModels({ baseUrl: this.#baseUrl, apiKey: this.#apiKey, signal: ctl.signal });
      if (ctl.signal.aborted) return;
      this.models = ids;
      if (!this.#model.trim() && ids.length > 0) this.model = ids[0];
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

  /**
   * What the client needs for one request. Throws the named error of `requestProblem()` when no
   * request may go out, so no caller can send the key where it does not belong.
   */
  endpoint(): { baseUrl: string; apiKey: string; model: string; streamUsage: boolean; maxTokens: number; deadlineMs: number } {
    const problem = this.requestProblem();
    if (problem) throw problem;
    return {
      baseUrl: this.#baseUrl.trim(),
      apiKey: this.#apiKey,
      model: this.#model.trim(),
      streamUsage: presetForBaseUrl(this.#baseUrl)?.streamUsage ?? true,
      maxTokens: this.maxTokens,
      deadlineMs: this.deadlineMs,
    };
  }

  #endpointChanged(what: string): void {
    this.stopAutoSend(`the ${what} changed`);
  }

  /** The base URL now points at another origin: bring that origin's key, or hold the old one back. */
  #originChanged(origin: string): void {
    this.models = [];
    this.connection = { state: 'idle', message: '' };
    const key = this.#keys.keyFor(origin);
    if (key !== undefined) {
      this.#apiKey = key;
      this.keyOrigin = origin;
    }
    // Otherwise the key in memory keeps its own origin and `keyNeedsConfirm` holds it back.
  }
}
