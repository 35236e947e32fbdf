/**
 * What the service worker stores for offline use, shared by the service worker (sw/sw.ts) and
 * the page (the offline status). Paths are relative to the app's base URL (the build is served
 * from any folder), so they resolve against the service worker's scope or `document.baseURI`.
 *
 * Pure constants: no DOM and no service-worker globals, so both sides can import it.
 */

/** The reference engine's model files, fetched in the background when the service worker installs. */
export const REFERENCE_MODEL_FILES = ['models/stories260K/stories260K.bin', 'models/stories260K/tok512.bin'] as const;

/** Cache Storage names (beside Workbox's own precache, `workbox-precache-v2-<scope>`). */
export const CACHE_NAMES = {
  /** Model files served beside the app under models/ (network first, so an update is picked up). */
  models: 'precis-models',
  /** Hashed build files used after the first load (pdf.js, tokenizer tables, web-llm's runtime). */
  assets: 'precis-assets',
  /** Other files of this origin used at run time without a hash in their name (e.g. wasm). */
  runtime: 'precis-runtime',
} as const;

/** The message the page posts to a waiting service worker to let it take over (the person agreed). */
export const SKIP_WAITING = { type: 'SKIP_WAITING' } as const;
