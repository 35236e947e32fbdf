/**
 * Offline after the first visit, with the real service worker in Chromium.
 *
 * Playwright's `context.setOffline(true)` emulates no network for the pages and, in Chromium, for
 * the service worker too (playwright-core applies Network.emulateNetworkConditions to service
 * worker targets), so a file the service worker has not stored fails exactly as it would on a
 * plane. Each test gets a fresh context: no registration or cache carries over between tests.
 *
 * Covered: an offline reload after one visit renders the app, loads the reference engine,
 * completes a run and says the predictor cannot be reached; the first visit going offline
 * before anything was stored says what is needed; storage cleared by the browser while offline
 * is named; a new version found during a run waits until the run ends.
 */
import { expect, test, type BrowserContext, type Page } from './fixtures/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FAKE_OPENAI_BASE_URL, fetchRecordedRequests, resetFakeOpenAI } from './fixtures/fake-openai-client';
import { STORIES, addAndSelectDocs, fixtureDir, setRunSettings, go, loadStories, watchConsole } from './fixtures/page-helpers';

test.skip(!existsSync(fixtureDir), `stories260K fixture not found at ${fixtureDir}`);

/** Offline failures the page is expected to log (the browser reports each failed fetch). */
const OFFLINE_NOISE = [/ERR_INTERNET_DISCONNECTED/, /Failed to load resource/, /net::ERR_FAILED/];

const offlineStatus = (page: Page) => page.getByTestId('offline-status');

/** First visit: wait until the service worker has stored the app and the reference model and controls the page. */
async function visitAndStore(page: Page, path = '/') {
  await page.goto(path);
  await expect(offlineStatus(page)).toHaveAttribute('data-stored', 'ready');
  await expect(offlineStatus(page)).toHaveAttribute('data-offline', 'false');
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
}

async function setPredictor(page: Page) {
  await go(page, 'send');
  await page.getByTestId('predictor-base-url').fill(FAKE_OPENAI_BASE_URL);
  await page.getByTestId('predictor-base-url').press('Tab');
  await page.getByTestId('predictor-model').fill('gpt-4o-mini');
  await page.getByTestId('predictor-model').press('Tab');
}

test('after one visit, an offline reload renders the app, loads the reference engine, completes a run and says the predictor is offline', async ({ page, context }) => {
  const problems = watchConsole(page, OFFLINE_NOISE);
  await resetFakeOpenAI();
  await visitAndStore(page);
  await setPredictor(page);

  await context.setOffline(true);
  const served: { url: string; fromServiceWorker: boolean }[] = [];
  page.on('response', (r) => served.push({ url: r.url(), fromServiceWorker: r.fromServiceWorker() }));
  await page.reload();
  await expect(page.getByTestId('nav').first()).toBeVisible();
  await expect(offlineStatus(page)).toHaveAttribute('data-offline', 'true');
  await expect(offlineStatus(page)).toHaveAttribute('data-stored', 'ready');
  await expect(offlineStatus(page)).toContainText('Works offline: your library, the reference engine');
  await expect(offlineStatus(page)).toContainText('Sending to the predictor and downloading models need the network');

  // The engine list still offers the reference engine (its HEAD probe is answered from the store).
  await loadStories(page);
  await addAndSelectDocs(page, STORIES);
  await setRunSettings(page, { samples: 1, maxTokens: 16, seed: 5 });
  await page.getByTestId('question').fill('Who was happy?');
  await page.getByTestId('run-start').click();
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(page.getByTestId('compression')).toHaveCount(3);
  expect(Number.isFinite(Number(await page.getByTestId('mi-bits').getAttribute('data-value')))).toBe(true);

  // The Send step cannot send and queues nothing, even with auto-send on.
  await go(page, 'send');
  await expect(page.getByTestId('send-offline')).toContainText(/offline, so nothing can be sent to 127\.0\.0\.1[\s\S]*nothing is queued/);
  await expect(page.getByTestId('send')).toBeDisabled();
  await page.getByTestId('auto-send').check();
  expect(served.filter((r) => !r.fromServiceWorker && new URL(r.url).port === new URL(page.url()).port)).toEqual([]);

  // Back online, the payload made offline is not sent on its own: nothing was queued.
  await context.setOffline(false);
  await expect(offlineStatus(page)).toHaveAttribute('data-offline', 'false');
  await expect(page.getByTestId('send')).toBeEnabled();
  await expect(page.getByTestId('answer')).toHaveCount(0);
  expect((await fetchRecordedRequests()).filter((r) => r.path.includes('/chat/completions'))).toEqual([]);
  expect(problems).toEqual([]);
});

test('offline before anything was stored: the page says what is needed', async ({ page, context }) => {
  // Hold the reference model's download, so the service worker's install cannot finish.
  const held: { abort: () => Promise<void> }[] = [];
  await context.route('**/models/stories260K/stories260K.bin', (route) => void held.push(route));
  await page.goto('/');
  await expect(page.getByTestId('nav').first()).toBeVisible();
  await context.setOffline(true);
  await expect(offlineStatus(page)).toHaveAttribute('data-offline', 'true');
  await expect(offlineStatus(page)).toHaveAttribute('data-stored', 'storing');
  await expect(offlineStatus(page)).toContainText('Offline before Précis was stored on this device');
  await expect(offlineStatus(page)).toContainText('Needed: one visit with the network until the app, its worker and the reference model');
  await go(page, 'send');
  await expect(page.getByTestId('send-offline')).toBeVisible();
  for (const r of held) await r.abort().catch(() => undefined);
});

/** Clear this origin's storage the way the browser does when it evicts a site (CDP Storage domain). */
async function clearSiteStorage(context: BrowserContext, page: Page, storageTypes: string) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Storage.clearDataForOrigin', { origin: new URL(page.url()).origin, storageTypes });
  await cdp.detach();
}

test('storage cleared by the browser while offline is named, and a model that is gone says why it cannot load', async ({ page, context }) => {
  await visitAndStore(page);
  await clearSiteStorage(context, page, 'all');
  await context.setOffline(true);
  await expect(offlineStatus(page)).toHaveAttribute('data-offline', 'true');
  await expect(offlineStatus(page)).toHaveAttribute('data-stored', 'cleared');
  await expect(offlineStatus(page)).toContainText("the stored copy of Précis is gone: the browser cleared this site's storage");
  await go(page, 'compress');
  await page.getByTestId('engine-select').selectOption('reference:stories260K');
  await page.getByTestId('engine-load').click();
  const status = page.getByTestId('engine-status');
  await expect(status).toHaveAttribute('data-state', 'error');
  await expect(status).toContainText(/ModelDownloadError|Could not download/);
  await expect(status).toContainText('not stored on it for offline use');
});

test('a stored copy that is gone while the service worker remains: an offline reload explains instead of the browser error page', async ({ page, context }) => {
  await visitAndStore(page);
  await clearSiteStorage(context, page, 'cache_storage');
  await context.setOffline(true);
  await page.reload();
  await expect(offlineStatus(page)).toHaveAttribute('data-offline', 'true');
  await expect(offlineStatus(page)).toContainText('copy of Précis kept for offline use is gone');
  await expect(offlineStatus(page)).toContainText('Connect to the network and reload');
});

test.describe('a new version during a run', () => {
  // A copy of the build on its own port, so its sw.js can change without touching dist/.
  const port = Number(process.env.PRECIS_E2E_PWA_PORT ?? 4175);
  const origin = `http://127.0.0.1:${port}`;
  let dir = '';
  let server: ChildProcess | null = null;

  test.beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'precis-pwa-'));
    cpSync(resolve(import.meta.dirname, '../dist'), dir, { recursive: true });
    server = spawn('npx', ['vite', 'preview', '--outDir', dir, '--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
      cwd: resolve(import.meta.dirname, '..'),
      stdio: 'ignore',
      detached: true,
    });
    for (let i = 0; i < 600; i++) {
      const up = await fetch(origin).then((r) => r.ok, () => false);
      if (up) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`vite preview of the copied build did not start on ${origin}`);
  });

  test.afterAll(() => {
    if (server?.pid) process.kill(-server.pid);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('is offered, waits while the run is in progress, and takes over when the run ends', async ({ page }) => {
    test.setTimeout(120_000);
    const problems = watchConsole(page);
    await visitAndStore(page, `${origin}/`);
    await loadStories(page);
    await addAndSelectDocs(page, STORIES);
    // A run long enough to still be running when the update arrives; it is cancelled below.
    await setRunSettings(page, { samples: 8, maxTokens: 400, seed: 1 });
    await page.getByTestId('question').fill('Who was happy?');
    await page.getByTestId('run-start').click();
    await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'running');
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));

    // Deploy a new version and let the browser find it.
    appendFileSync(join(dir, 'sw.js'), `\n// a new version ${Date.now()}\n`);
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.update());
    const banner = page.getByTestId('update-banner');
    await expect(banner).toHaveAttribute('data-state', 'held');
    await expect(banner).toContainText('A run is in progress, so it is not loaded until the run ends');
    await page.getByTestId('update-apply').click();
    await expect(banner).toHaveAttribute('data-state', 'deferred');

    // Still the same document, the run still going, the new version still waiting.
    await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'running');
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.waiting !== null)).toBe(true);

    // The run ends (cancelled here): the new version takes over and the page reloads.
    const reloaded = page.waitForEvent('load');
    await page.getByTestId('run-cancel').click();
    await reloaded;
    await expect(page.getByTestId('nav').first()).toBeVisible();
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBeUndefined();
    expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.waiting)).toBeNull();
    await expect(page.getByTestId('update-banner')).toHaveCount(0);
    await go(page, 'runs');
    await expect(page.getByTestId('run-item').first()).toHaveAttribute('data-status', 'cancelled');
    expect(problems).toEqual([]);
  });
});
