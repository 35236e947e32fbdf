/// <reference types="vitest/config" />
import { defineConfig, type Plugin, type Connect } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { contentSecurityPolicy } from './scripts/vite-csp.ts';

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
    const size = statSync(file).size;
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', String(size));
    res.setHeader('Cache-Control', 'no-cache');
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

export default defineConfig({
  base: './',
  plugins: [svelte(), serveModels(), contentSecurityPolicy()],
  resolve: process.env.VITEST ? { conditions: ['browser'] } : undefined,
  worker: { format: 'es' },
  build: { target: 'es2022', chunkSizeWarningLimit: 7000 },
  server: { port: 5173, strictPort: true },
  preview: { port: 4173, strictPort: true },
  test: {
    include: ['src/**/*.test.ts', 'workers/**/*.test.ts', 'cli/**/*.test.ts', 'e2e/fixtures/**/*.test.ts'],
    environment: 'node',
  },
});
