import { defineConfig } from '@playwright/test';
import { existsSync } from 'node:fs';

/**
 * End-to-end tests drive a real Chromium against the built app (`vite preview`). Playwright
 * cannot download its own browser here, so Debian's Chromium is used when present.
 * `--enable-unsafe-webgpu` gives headless Chromium a software WebGPU adapter (no shader-f16);
 * specs that need "no WebGPU" launch their own browser without it.
 */
const chromium = process.env.PRECIS_CHROMIUM ?? '/usr/bin/chromium';
export const chromiumArgs = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--no-sandbox',
];

export default defineConfig({
  testDir: './e2e',
  testMatch: '**/*.spec.ts',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  workers: 1,
  retries: 0,
  reporter: process.env.CI ? [['list']] : [['list']],
  use: {
    baseURL: 'http://127.0.0.1:4173',
    launchOptions: {
      executablePath: existsSync(chromium) ? chromium : undefined,
      args: [...chromiumArgs, '--enable-unsafe-webgpu'],
    },
    trace: 'retain-on-failure',
  },
  webServer: [
    {
      command: 'npx vite preview --host 127.0.0.1 --port 4173 --strictPort',
      url: 'http://127.0.0.1:4173',
      reuseExistingServer: !process.env.CI,
      timeout: 60_000,
    },
    { command: 'node e2e/fixtures/fake-openai.mjs', url: 'http://127.0.0.1:8787/v1/models', reuseExistingServer: !process.env.CI },
  ],
});
