/**
 * A light first load: before anyone chooses a model, the page transfers at most 300 KB, with
 * WebGPU (the software adapter of --enable-unsafe-webgpu) and without, and the GPU catalog is
 * offered all the same, because its model list is built into the page at build time instead of
 * importing web-llm (about 6 MB) on the main thread.
 *
 * Bytes are what Chromium reports as received for each request (Playwright's request sizes:
 * response headers plus the body as sent, gzip included). The service worker's own background
 * fetches (its precache and the reference model, for offline use) are counted apart: they must be
 * only what a first run needs, and even counted with the page's own requests (the shell is then
 * fetched twice) they stay within the budget apart from the reference model.
 */
import { chromium, expect, test, watchCsp, type BrowserContext } from './fixtures/test';
import { existsSync } from 'node:fs';
import { chromiumArgs } from '../playwright.config';
import { fixtureDir, go } from './fixtures/page-helpers';

/** What the service worker may fetch in the background besides the reference model. */
const SW_SHELL_BUDGET_BYTES = 200_000;
const BUDGET_BYTES = 300_000;

interface Transfer {
  url: string;
  bytes: number;
}

/**
 * Every finished request of the page and its dedicated worker, with the bytes Chromium received
 * for it (response headers plus the encoded body: gzip as sent). The service worker's own
 * requests are left out here and listed by `recordServiceWorkerRequests`.
 */
function recordBytes(context: BrowserContext): { page: Transfer[]; sw: Transfer[]; settled: () => Promise<void> } {
  const page: Transfer[] = [];
  const sw: Transfer[] = [];
  const pending: Promise<void>[] = [];
  context.on('requestfinished', (req) => {
    const into = req.serviceWorker() ? sw : page;
    pending.push(
      req.sizes().then((s) => {
        into.push({ url: req.url(), bytes: s.responseHeadersSize + s.responseBodySize });
      }),
    );
  });
  return { page, sw, settled: async () => void (await Promise.all(pending)) };
}

const sum = (ts: Transfer[]) => ts.reduce((a, t) => a + t.bytes, 0);
const isModelFile = (t: Transfer) => new URL(t.url).pathname.startsWith('/models/');

async function firstLoad(context: BrowserContext, webgpu: boolean) {
  const page = await context.newPage();
  const { page: transfers, sw, settled } = recordBytes(context);
  await page.goto('/');
  // Moving between views is hash routing: no request.
  await go(page, 'models');
  await expect(page.getByTestId('webgpu-status')).toHaveAttribute('data-available', String(webgpu));
  // The catalog is offered as soon as the readiness check is done: no download stands between.
  await expect(page.getByTestId('webllm-model').first()).toBeVisible();
  const catalogCount = await page.getByTestId('webllm-model').count();
  await go(page, 'compress');
  const gpuOptions = await page.getByTestId('engine-select').locator('option[value$="-MLC"]').count();
  if (existsSync(fixtureDir)) await expect(page.getByTestId('engine-select').locator('option[value="reference:stories260K"]')).toHaveCount(1);
  // Offline storage finished: everything the service worker fetches in the background is done.
  await expect(page.getByTestId('offline-status')).toHaveAttribute('data-stored', existsSync(fixtureDir) ? 'ready' : 'app-only');
  await page.waitForLoadState('networkidle');
  await settled();
  const totalBytes = sum(transfers);
  const swBytes = sum(sw);
  const swModelBytes = sum(sw.filter(isModelFile));
  return { page, transfers, totalBytes, sw, swBytes, swModelBytes, swUrls: sw.map((t) => t.url), catalogCount, gpuOptions };
}

function report(label: string, r: { transfers: Transfer[]; totalBytes: number; sw: Transfer[]; swBytes: number; swModelBytes: number }) {
  const rows = (ts: Transfer[]) => ts.map((t) => `  ${String(t.bytes).padStart(8)}  ${new URL(t.url).pathname}`).join('\n');
  console.log(
    `[first load ${label}] page: ${r.totalBytes} bytes in ${r.transfers.length} requests\n${rows(r.transfers)}\n` +
      `  service worker, in the background: ${r.swBytes} bytes in ${r.sw.length} requests (${r.swModelBytes} of them the reference model)\n${rows(r.sw)}`,
  );
}

/** The service worker's own fetches: the shell, the worker, icons, manifest, the reference model; no lazy chunk. */
function expectOnlyFirstRunFiles(swUrls: string[]) {
  const paths = swUrls.map((u) => new URL(u).pathname);
  for (const p of paths) {
    expect(p, `service worker fetched ${p} in the background`).toMatch(
      /^\/(index\.html|sw\.js|manifest\.webmanifest|favicon\.svg|[\w-]+\.png|assets\/(index|CompareView|rolldown-runtime|compressor\.worker|workbox-window\.prod\.es5)-[\w-]+\.(js|css)|models\/stories260K\/(stories260K|tok512)\.bin)$/,
    );
  }
  expect(paths.some((p) => /compressor\.worker/.test(p))).toBe(true);
  if (existsSync(fixtureDir)) expect(paths).toContain('/models/stories260K/stories260K.bin');
}

test('first load with WebGPU: at most 300 KB, and the GPU catalog is offered', async ({ context }) => {
  const r = await firstLoad(context, true);
  report('with WebGPU', r);
  expect(r.catalogCount).toBeGreaterThan(5);
  expect(r.gpuOptions).toBe(r.catalogCount);
  expect(r.totalBytes).toBeLessThanOrEqual(BUDGET_BYTES);
  // The service worker's background copy of the shell (the model aside) has its own budget.
  expect(r.swBytes - r.swModelBytes).toBeLessThanOrEqual(SW_SHELL_BUDGET_BYTES);
  expectOnlyFirstRunFiles(r.swUrls);
});

test('first load without WebGPU: at most 300 KB, and the catalog is listed (not loadable here)', async ({}, testInfo) => {
  const executablePath = testInfo.project.use.launchOptions?.executablePath;
  const browser = await chromium.launch({ executablePath, args: chromiumArgs });
  try {
    const context = await browser.newContext({ baseURL: testInfo.project.use.baseURL });
    const csp = await watchCsp(context);
    const r = await firstLoad(context, false);
    report('without WebGPU', r);
    expect(r.catalogCount).toBeGreaterThan(5);
    expect(r.gpuOptions).toBe(0);
    await go(r.page, 'models');
    await expect(r.page.getByTestId('webllm-model-load').first()).toBeDisabled();
    expect(csp).toEqual([]);
    expect(r.totalBytes).toBeLessThanOrEqual(BUDGET_BYTES);
    // The service worker's background copy of the shell (the model aside) has its own budget.
    expect(r.swBytes - r.swModelBytes).toBeLessThanOrEqual(SW_SHELL_BUDGET_BYTES);
    expectOnlyFirstRunFiles(r.swUrls);
  } finally {
    await browser.close();
  }
});
