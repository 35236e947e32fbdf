import { defineConfig } from '@playwright/test';
import { existsSync } from 'node:fs';

/**
 * End-to-end tests drive a real Chromium against the built app (`vite preview`). Playwright
 * cannot download its own browser here, so Debian's Chromium is used when present.
 * `--enable-unsafe-webgpu` gives headless Chromium a software WebGPU adapter (no shader-f16);
 * specs that need "no WebGPU" launch their own browser without it.
 */
const chromium = process.env.PRECIS_CHROMIUM ?? '/usr/bin/chromium';
/** Ports can be moved so that several checkouts run their end-to-end tests side by side. */
const appPort = Number(process.env.PRECIS_E2E_PORT ?? 4173);
const fakePort = Number(process.env.FAKE_OPENAI_PORT ?? 8787);
/** The fixture vLLM server (e2e/fixtures/inference-server-cli.ts); beside the fake predictor by default. */
const serverFixturePort = Number(process.env.PRECIS_SERVER_FIXTURE_PORT ?? fakePort + 1000);
process.env.PRECIS_SERVER_FIXTURE_PORT = String(serverFixturePort);
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
  retries: process.env.CI ? 1 : 0,
  reporter: process.env.CI ? [['list']] : [['list']],
  use: {
    baseURL: `http://127.0.0.1:${appPort}`,
    launchOptions: {
      executablePath: existsSync(chromium) ? chromium : undefined,
      args: [...chromiumArgs, '--enable-unsafe-webgpu'],
    },
    trace: 'retain-on-failure',
  },
  webServer: [
    {
      command: `npx vite preview --host 127.0.0.1 --port ${appPort} --strictPort`,
      url: `http://127.0.0.1:${appPort}`,
      reuseExistingServer: !process.env.CI,
      timeout: 60_000,
    },
    {
      command: 'node e2e/fixtures/fake-openai.mjs',
      url: `http://127.0.0.1:${fakePort}/v1/models`,
      reuseExistingServer: !process.env.CI,
    },
    {
      command: `npx tsx e2e/fixtures/inference-server-cli.ts --kind vllm --port ${serverFixturePort}`,
      url: `http://127.0.0.1:${serverFixturePort}/v1/models`,
      reuseExistingServer: !process.env.CI,
      timeout: 60_000,
    },
  ],
});
