/**
 * The real service-worker side of `PwaState`: vite-plugin-pwa's `registerSW` (registerType
 * 'prompt', so a new version waits for `updateSW()`), the Cache Storage checks behind the offline
 * status, and the browser's online/offline events.
 */
import { registerSW } from 'virtual:pwa-register';
import { CACHE_NAMES, REFERENCE_MODEL_FILES } from './offline-files';
import { PwaState, type PwaDeps, type StoredReport } from './pwa-state.svelte';

async function checkStored(): Promise<StoredReport> {
  const base = document.baseURI;
  const registration = await navigator.serviceWorker.getRegistration().catch(() => undefined);
  const controlled = navigator.serviceWorker.controller !== null;
  if (typeof caches === 'undefined') return { registered: !!registration, controlled, app: false, referenceModel: false };
  // Workbox keys unhashed precache entries with a revision parameter, hence ignoreSearch.
  const app = (await caches.match(new URL('index.html', base).href, { ignoreSearch: true })) !== undefined;
  let referenceModel = await caches.has(CACHE_NAMES.models);
  if (referenceModel) {
    const cache = await caches.open(CACHE_NAMES.models);
    for (const path of REFERENCE_MODEL_FILES) {
      if (!(await cache.match(new URL(path, base).href))) referenceModel = false;
    }
  }
  return { registered: !!registration, controlled, app, referenceModel };
}

export const browserPwaDeps: PwaDeps = {
  supported: typeof navigator !== 'undefined' && 'serviceWorker' in navigator && window.isSecureContext,
  register: (callbacks) => registerSW({ immediate: true, ...callbacks }),
  checkStored,
  online: () => navigator.onLine,
  watch(onOnline, onControllerChange) {
    const changed = () => onOnline(navigator.onLine);
    window.addEventListener('online', changed);
    window.addEventListener('offline', changed);
    navigator.serviceWorker?.addEventListener('controllerchange', onControllerChange);
    return () => {
      window.removeEventListener('online', changed);
      window.removeEventListener('offline', changed);
      navigator.serviceWorker?.removeEventListener('controllerchange', onControllerChange);
    };
  },
  reload: () => location.reload(),
};

let shared: PwaState | null = null;

/** The app-wide instance (offline status, update banner, the Send step). */
export function pwaState(): PwaState {
  shared ??= new PwaState(browserPwaDeps);
  return shared;
}
