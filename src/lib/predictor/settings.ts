/**
 * Where predictor settings live between visits.
 *
 * Decision: one localStorage entry, `precis.predictor.v1`, holding the base URL, model, preset,
 * the user's price edits, the answer limits and the remember-key choice. API keys are written
 * there only when the user ticked "remember the key on this device", each under the origin it was
 * entered for (`apiKeys`); unticking or "Forget key" removes them at once. An entry from before
 * keys were per origin (one `apiKey`) is read as the key of its saved base URL's origin.
 * localStorage (not IndexedDB) keeps the key out of the storage module's exports by construction.
 * Nothing here logs; a store that cannot write (private mode, quota) fails silently, because the
 * settings still work for this visit.
 */
import { originOf } from './key-origin';
import { isValidPrice, type PriceTable } from './pricing';

export interface SavedPredictorSettings {
  baseUrl: string;
  model: string;
  presetId: string;
  rememberKey: boolean;
  /** Remembered keys by endpoint origin; present only when rememberKey is true. */
  apiKeys?: Record<string, string>;
  /** The user's edits over the default prices. */
  prices: PriceTable;
  /** max_tokens asked of the predictor (undefined: the default). */
  maxTokens?: number;
  /** Longest time a whole answer may take, in ms (undefined: the default). */
  deadlineMs?: number;
}

export interface PredictorStore {
  load(): SavedPredictorSettings | null;
  save(settings: SavedPredictorSettings): void;
}

export const STORAGE_KEY = 'precis.predictor.v1';

type KV = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

function defaultStorage(): KV | null {
  try {
    return (globalThis as { localStorage?: KV }).localStorage ?? null;
  } catch {
    return null; // access can throw when storage is blocked
  }
}

export function localStorageStore(storage: KV | null = defaultStorage(), key = STORAGE_KEY): PredictorStore {
  return {
    load() {
      if (!storage) return null;
      try {
        const raw = storage.getItem(key);
        return raw ? sanitize(JSON.parse(raw)) : null;
      } catch {
        return null;
      }
    },
    save(s) {
      if (!storage) return;
      const out: SavedPredictorSettings = { ...s };
      if (!s.rememberKey || !s.apiKeys || Object.keys(s.apiKeys).length === 0) delete out.apiKeys;
      try {
        storage.setItem(key, JSON.stringify(out));
      } catch {
        /* not persisted; this visit keeps working */
      }
    },
  };
}

/** In-memory store for tests and for callers that persist elsewhere through a callback. */
export function memoryStore(initial: SavedPredictorSettings | null = null, onSave?: (s: SavedPredictorSettings) => void): PredictorStore {
  let saved = initial;
  return {
    load: () => saved,
    save: (s) => {
      saved = { ...s };
      if (!s.rememberKey) delete saved.apiKeys;
      onSave?.(saved);
    },
  };
}

function sanitize(v: unknown): SavedPredictorSettings | null {
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  const str = (x: unknown) => (typeof x === 'string' ? x : '');
  const prices: PriceTable = {};
  if (o.prices && typeof o.prices === 'object') {
    for (const [k, p] of Object.entries(o.prices as Record<string, unknown>)) if (isValidPrice(p)) prices[k] = p;
  }
  const rememberKey = o.rememberKey === true;
  const baseUrl = str(o.baseUrl);
  let apiKeys: Record<string, string> | undefined;
  if (rememberKey) {
    apiKeys = {};
    if (o.apiKeys && typeof o.apiKeys === 'object') {
      for (const [origin, key] of Object.entries(o.apiKeys as Record<string, unknown>)) {
        if (typeof key === 'string' && key && originOf(origin) === origin) apiKeys[origin] = key;
      }
    }
    // Before keys were per origin: one key, which belonged to the saved base URL.
    const legacyOrigin = originOf(baseUrl);
    if (typeof o.apiKey === 'string' && o.apiKey && legacyOrigin && !apiKeys[legacyOrigin]) apiKeys[legacyOrigin] = o.apiKey;
  }
  const positive = (x: unknown, max: number) => (typeof x === 'number' && Number.isInteger(x) && x > 0 && x <= max ? x : undefined);
  return {
    baseUrl,
    model: str(o.model),
    presetId: str(o.presetId) || 'custom',
    rememberKey,
    apiKeys,
    prices,
    maxTokens: positive(o.maxTokens, 1_000_000),
    deadlineMs: positive(o.deadlineMs, 24 * 3600_000),
  };
}
