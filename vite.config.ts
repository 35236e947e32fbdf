/// <reference types="vitest/config" />
import { defineConfig, type Plugin, type Connect } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { VitePWA } from 'vite-plugin-pwa';
import { contentSecurityPolicy } from './scripts/vite-csp.ts';
import { webllmModels } from './scripts/webllm-models-plugin.ts';

/**
 * Model files are never part of the build: the dev and preview servers serve a folder of
 * checkpoints at /models/ when it exists. PRECIS_MODELS_DIR names another folder; the default is
 * the shared fixtures folder beside the checkout.
 */
const modelsDir = resolve(process.env.PRECIS_MODELS_DIR ?? resolve(import.meta.dirname, '../shared/models'));

function serveModels(): Plugin {
  const middleware: Connect.NextHandleFunction = (req, res, next) => {
    const url = req.url ?? '';
    if (!url.startsWith('/models/')) return next();
    const rel = decodeURIComponent(url.slice('/models/'.length).split('?')[0]);
    const file = resolve(modelsDir, rel);
    if (!file.startsWith(modelsDir + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    const { size, mtimeMs } = statSync(file);
    // Revalidated on every use (no-cache) but cheaply: an unchanged file answers 304.
    const etag = `W/"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`;
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('ETag', etag);
    if (req.headers['if-none-match'] === etag) {
      res.statusCode = 304;
      return void res.end();
    }
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', String(size));
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
  };
  return {
    name: 'precis-serve-models',
    configureServer(server) {
      server.middlewares.use(middleware);
    },
    configurePreviewServer(server) {
      server.middlewares.use(middleware);
    },
  };
}

/**
 * Cross-origin isolation (COOP + COEP) lets the ONNX engine's WASM use several threads
 * (SharedArrayBuffer). Every same-origin resource is then fine; cross-origin requests must be CORS
 * requests (the predictor API, the model hosts) or carry Cross-Origin-Resource-Policy. A static
 * host should send the same two headers (README "Threads"); without them the engine runs on one
 * thread and says so.
 */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * The installable app and its service worker (sw/sw.ts, Workbox through vite-plugin-pwa). The
 * precache is only what a first run needs offline: the page, its scripts and styles (found by
 * shellFiles from the bundle graph), the Compare view's chunk (split off because of Observable
 * Plot, src/views/views.ts), the compressor worker, icons and manifest. Every other chunk (pdf.js, gpt-tokenizer's tables,
 * web-llm's runtime) is stored by the service worker when first used; the reference model is
 * fetched by the service worker at install (it is served beside the app, not built into dist/).
 */
function pwa(): Plugin[] {
  const shell = shellFiles();
  return [shell.plugin, ...VitePWA({
    strategies: 'injectManifest',
    srcDir: 'sw',
    filename: 'sw.ts',
    registerType: 'prompt',
    injectRegister: false,
    includeAssets: ['favicon.svg', 'apple-touch-icon-180x180.png'],
    manifest: {
      name: 'Précis',
      short_name: 'Précis',
      description: 'Compress private documents on this device, measure what each compression keeps, send only the compression.',
      start_url: './',
      scope: './',
      display: 'standalone',
      theme_color: '#1d3557',
      background_color: '#f7f7f4',
      icons: [
        { src: 'pwa-192x192.png', sizes: '192x192', type: 'image/png' },
        { src: 'pwa-512x512.png', sizes: '512x512', type: 'image/png' },
        { src: 'maskable-512x512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
      ],
    },
    injectManifest: {
      // Every built JS/CSS file is a candidate; the transform keeps the shell's (see shellFiles).
      globPatterns: ['index.html', 'assets/*.{js,css}'],
      maximumFileSizeToCacheInBytes: 16 * 1024 * 1024,
      manifestTransforms: [
        async (entries) => ({
          manifest: entries.filter((e) => !e.url.startsWith('assets/') || shell.keep(e.url.slice('assets/'.length))),
          warnings: [],
        }),
      ],
    },
    devOptions: { enabled: false },
  })];
}

/**
 * The files of the app shell under assets/, read from the bundle graph rather than from name
 * patterns: the page's entry and everything it imports statically (the bundler also splits out
 * shared chunks and its own runtime), the same for each view loaded on first visit (Compare), and
 * the compressor worker and workbox-window. Lazily loaded libraries (pdf.js, web-llm,
 * transformers.js, gpt-tokenizer's tables) stay out: they are stored when first used.
 */
function shellFiles(): { plugin: Plugin; keep(file: string): boolean } {
  const files = new Set<string>();
  const plugin: Plugin = {
    name: 'precis-shell-files',
    apply: 'build',
    generateBundle(_options, bundle) {
      const chunks = Object.values(bundle).filter((c) => c.type === 'chunk');
      const byName = new Map(chunks.map((c) => [c.fileName, c]));
      const visit = (fileName: string) => {
        if (files.has(fileName)) return;
        files.add(fileName);
        const chunk = byName.get(fileName);
        if (!chunk) return;
        for (const css of chunk.viteMetadata?.importedCss ?? []) files.add(css);
        for (const dep of chunk.imports) visit(dep);
      };
      for (const c of chunks) {
        const lazyView = c.isDynamicEntry && /[\\/]src[\\/]views[\\/][^\\/]+\.svelte$/.test(c.facadeModuleId ?? '');
        if (c.isEntry || lazyView) visit(c.fileName);
      }
    },
  };
  const keep = (file: string) =>
    files.has(`assets/${file}`) || /^compressor\.worker-[\w-]+\.js$/.test(file) || /^workbox-window[\w.-]*\.js$/.test(file);
  return { plugin, keep };
}

export default defineConfig({
  base: './',
  plugins: [svelte(), serveModels(), contentSecurityPolicy(), webllmModels(), ...(process.env.VITEST ? [] : pwa())],
  resolve: process.env.VITEST ? { conditions: ['browser'] } : undefined,
  worker: { format: 'es', plugins: () => [webllmModels()] },
  build: { target: 'es2022', chunkSizeWarningLimit: 7000 },
  server: { port: 5173, strictPort: true, headers: ISOLATION_HEADERS },
  preview: { port: 4173, strictPort: true, headers: ISOLATION_HEADERS },
  test: {
    include: ['src/**/*.test.ts', 'workers/**/*.test.ts', 'cli/**/*.test.ts', 'e2e/fixtures/**/*.test.ts'],
    environment: 'node',
  },
});
