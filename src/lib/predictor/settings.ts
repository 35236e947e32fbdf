/**
 * Where predictor settings live between visits.
 *
 * Decision: one localStorage entry, `precis.predictor.v1`, holding the base URL, model, preset,
 * the user's price edits and the remember-key choice. The API key is written there only when the
 * user ticked "remember the key on this device"; unticking or "Forget key" removes it at once.
 * localStorage (not IndexedDB) keeps the key out of the storage module's exports by construction.
 * Nothing here logs; a store that cannot write (private mode, quota) fails silently, because the
 * settings still work for this visit.
 */
import { isValidPrice, type PriceTable } from './pricing';

export interface SavedPredictorSettings {
  baseUrl: string;
  model: string;
  presetId: string;
  rememberKey: boolean;
  /** Present only when rememberKey is true. */
  apiKey?: string;
  /** The user's edits over the default prices. */
  prices: PriceTable;
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
      if (!s.rememberKey || !s.apiKey) delete out.apiKey;
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
      if (!s.rememberKey) delete saved.apiKey;
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
  return {
    baseUrl: str(o.baseUrl),
    model: str(o.model),
    presetId: str(o.presetId) || 'custom',
    rememberKey,
    apiKey: rememberKey && typeof o.apiKey === 'string' ? o.apiKey : undefined,
    prices,
  };
}
