/**
 * The service worker (built by vite-plugin-pwa's injectManifest strategy, Workbox underneath).
 *
 * What it stores, and when:
 * - On install: the precache manifest Workbox injects (the app shell: index.html, the main
 *   script and styles, the compressor worker, icons, manifest; see vite.config.ts) and the
 *   reference engine's model files under models/ (best effort: a host without them still
 *   installs). That is all a first run needs offline.
 * - When first used: every other file of this origin (hashed build chunks such as pdf.js,
 *   gpt-tokenizer's tables and web-llm's runtime; unhashed ones such as wasm). web-llm keeps the
 *   models it downloads in its own Cache Storage; those cross-origin requests are not touched.
 *
 * Invariants:
 * - A new version waits until the page asks for it (`SKIP_WAITING`, sent only when the person
 *   accepts the update and no run is in progress). Never `skipWaiting()` on its own.
 * - Only same-origin GET and HEAD requests are handled; the predictor and model hosts go to the
 *   network untouched.
 * - When the stored copy is gone (the browser cleared storage) and the network is down, a
 *   navigation gets a short page saying so instead of the browser's error page.
 */
/// <reference lib="webworker" />
import { clientsClaim } from 'workbox-core';
import { ExpirationPlugin } from 'workbox-expiration';
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute, setCatchHandler } from 'workbox-routing';
import { CacheFirst, NetworkFirst } from 'workbox-strategies';
import type { PrecacheEntry } from 'workbox-precaching';
import { CACHE_NAMES, REFERENCE_MODEL_FILES, SKIP_WAITING } from '../src/lib/pwa/offline-files';

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: (string | PrecacheEntry)[] };

const scope = new URL(self.registration.scope);
const modelsPath = new URL('models/', scope).pathname;
const assetsPath = new URL('assets/', scope).pathname;

cleanupOutdatedCaches();
precacheAndRoute(self.__WB_MANIFEST);
clientsClaim();

self.addEventListener('message', (event) => {
  if ((event.data as { type?: unknown } | null)?.type === SKIP_WAITING.type) void self.skipWaiting();
});

/** Fetch the reference model into the models cache unless it is there already; never fails the install. */
async function storeReferenceModel(): Promise<void> {
  const cache = await caches.open(CACHE_NAMES.models);
  for (const path of REFERENCE_MODEL_FILES) {
    const url = new URL(path, scope).href;
    try {
      if (await cache.match(url)) continue;
      const res = await fetch(url);
      if (res.ok) await cache.put(url, res);
    } catch {
      // Offline or not served by this host: the page says what is missing.
    }
  }
}

self.addEventListener('install', (event) => {
  event.waitUntil(storeReferenceModel());
});

// Unhashed runtime files may belong to the previous version: drop them when a new one takes over.
self.addEventListener('activate', (event) => {
  event.waitUntil(caches.delete(CACHE_NAMES.runtime).then(() => undefined));
});

const sameOrigin = (url: URL) => url.origin === scope.origin;

// The app shell for every navigation (hash routing: one document).
registerRoute(new NavigationRoute(createHandlerBoundToURL('index.html'), { denylist: [new RegExp(`^${modelsPath}`)] }));

// Model files: the network when it answers (the server revalidates with an ETag), else the stored copy.
registerRoute(
  ({ url, request }) => sameOrigin(url) && url.pathname.startsWith(modelsPath) && request.method === 'GET',
  new NetworkFirst({ cacheName: CACHE_NAMES.models }),
);

// The page asks with HEAD whether the reference model is served; answer from the stored copy offline.
registerRoute(
  ({ url }) => sameOrigin(url) && url.pathname.startsWith(modelsPath),
  async ({ request }) => {
    try {
      return await fetch(request);
    } catch (err) {
      const stored = await caches.match(request.url, { cacheName: CACHE_NAMES.models });
      if (!stored) throw err;
      return new Response(null, { status: 200, headers: stored.headers });
    }
  },
  'HEAD',
);

// Hashed build chunks never change under the same name.
registerRoute(
  ({ url, request }) => sameOrigin(url) && url.pathname.startsWith(assetsPath) && request.method === 'GET',
  new CacheFirst({
    cacheName: CACHE_NAMES.assets,
    plugins: [new ExpirationPlugin({ maxEntries: 60, purgeOnQuotaError: true })],
  }),
);

// Anything else of this origin used at run time (not precached, not under assets/ or models/).
registerRoute(
  ({ url, request }) => sameOrigin(url) && request.method === 'GET' && request.mode !== 'navigate',
  new CacheFirst({
    cacheName: CACHE_NAMES.runtime,
    plugins: [new ExpirationPlugin({ maxEntries: 60, purgeOnQuotaError: true })],
  }),
);

const STORAGE_GONE_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Précis: offline</title></head>
<body>
<h1>Précis is offline and not stored on this device</h1>
<p data-testid="offline-status" data-offline="true">This device has no network, and the copy of Précis kept for offline use is gone (the browser may have cleared this site's storage to free space; if so, documents and runs kept in this browser may have gone with it).
Connect to the network and reload: the app, its worker and the reference model (about 1.3 MB) are stored again.</p>
</body></html>`;

setCatchHandler(async ({ request }) => {
  if (request.mode === 'navigate') {
    return new Response(STORAGE_GONE_PAGE, {
      status: 503,
      headers: { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': "default-src 'none'" },
    });
  }
  return Response.error();
});
