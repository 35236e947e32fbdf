/**
 * Demo mode for a booth: large type, the samples loaded, the compressor warmed; and the reset for
 * the next visitor, which cancels a run in progress first, then leaves no document, run, setting
 * or key behind while downloaded models (Cache Storage) stay.
 */
import { existsSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { FAKE_OPENAI_BASE_URL } from './fixtures/fake-openai-client';
import { fixtureDir, go, watchConsole } from './fixtures/page-helpers';
import { expect, test } from './fixtures/test';

const KEY = 'sk-demo-visitor-0123456789';

/** Record counts of every object store of the app's database. */
function storeCounts(page: Page) {
  return page.evaluate(
    () =>
      new Promise<Record<string, number>>((resolve, reject) => {
        const req = indexedDB.open('precis');
        req.onsuccess = async () => {
          const db = req.result;
          const names = Array.from(db.objectStoreNames);
          const tx = db.transaction(names);
          const counts: Record<string, number> = {};
          await Promise.all(
            names.map(
              (n) =>
                new Promise<void>((done) => {
                  const c = tx.objectStore(n).count();
                  c.onsuccess = () => {
                    counts[n] = c.result;
                    done();
                  };
                }),
            ),
          );
          db.close();
          resolve(counts);
        };
        req.onerror = () => reject(req.error);
      }),
  );
}

test('demo mode: large type, samples loaded, compressor warmed; reset cancels the run, clears everything but the models', async ({ page }) => {
  test.skip(!existsSync(fixtureDir), `stories260K fixture not found at ${fixtureDir}`);
  test.setTimeout(120_000);
  const problems = watchConsole(page);
  await page.goto('/');
  // A downloaded model, as web-llm keeps it in Cache Storage.
  await page.evaluate(async () => {
    const cache = await caches.open('webllm/model');
    await cache.put(new Request(`${location.origin}/demo-model-shard.bin`), new Response('model bytes'));
  });

  const rootSize = () => page.evaluate(() => parseFloat(getComputedStyle(document.documentElement).fontSize));
  const normalSize = await rootSize();
  await go(page, 'settings');
  await page.getByTestId('demo-mode').check();
  await expect(page.locator('html.demo')).toHaveCount(1);
  expect(await rootSize()).toBeGreaterThan(normalSize * 1.2);
  // The compressor is preselected and loaded ahead (the reference engine on this software adapter).
  await expect(page.getByTestId('header-engine')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(page.getByTestId('header-engine')).toContainText('stories260K');
  await go(page, 'documents');
  await expect(page.getByTestId('doc-item').filter({ hasText: 'Sample:' })).toHaveCount(4);
  await go(page, 'compress');
  await expect(page.getByTestId('question')).toHaveValue('Who helped get the kite down?');

  // The visitor sets up a predictor with a remembered key, then starts a long run.
  await go(page, 'send');
  await page.getByTestId('predictor-base-url').fill(FAKE_OPENAI_BASE_URL);
  await page.getByTestId('predictor-key').fill(KEY);
  await page.getByTestId('predictor-model').fill('gpt-4o-mini');
  await page.getByTestId('predictor-remember-key').check();
  await go(page, 'compress');
  await page.getByTestId('run-settings').getByText('Compression settings').click();
  await page.getByTestId('run-samples').fill('4');
  await page.getByTestId('run-max-tokens').fill('400');
  await page.getByTestId('run-start').click();
  await expect(page.getByTestId('compression-item').first()).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('header-run')).toBeVisible();
  expect((await storeCounts(page)).runs).toBe(1);

  // Reset while the run is in progress: it is cancelled first, then everything goes.
  await go(page, 'settings');
  await page.getByTestId('demo-reset').click();
  await expect(page.getByTestId('demo-panel')).toContainText('A run is in progress: it will be cancelled first.');
  await Promise.all([page.waitForEvent('load', { timeout: 60_000 }), page.getByTestId('demo-reset-confirm').click()]);

  // The first screen, for the next visitor.
  await expect(page.locator('[data-testid="nav"][data-view="documents"]')).toHaveAttribute('aria-current', 'page');
  expect(new URL(page.url()).hash).toBe('#/');
  await expect(page.getByTestId('library-panel')).toHaveAttribute('data-ready', 'true');
  await expect(page.getByTestId('doc-item')).toHaveCount(0);
  await expect(page.getByTestId('next-step')).toHaveAttribute('data-step', 'add-document');
  const counts = await storeCounts(page);
  for (const [store, n] of Object.entries(counts)) expect(n, `records left in ${store}`).toBe(0);
  // Left in localStorage: the demo flag, and the fresh page's own empty draft of the next run.
  const local = await page.evaluate(() => Object.fromEntries(Object.entries(localStorage)));
  expect(Object.keys(local).sort()).toEqual(Object.keys(local).includes('precis.run-draft') ? ['precis.demo', 'precis.run-draft'] : ['precis.demo']);
  if (local['precis.run-draft']) expect(JSON.parse(local['precis.run-draft']).question).toBe('');
  expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toContain(KEY);
  await go(page, 'runs');
  await expect(page.getByTestId('run-item')).toHaveCount(0);
  await go(page, 'send');
  await expect(page.getByTestId('predictor-base-url')).toHaveValue('');
  await expect(page.getByTestId('predictor-key')).toHaveValue('');
  await expect(page.getByTestId('header-predictor')).toContainText('not set');
  // Demo mode stays on for the booth, the compressor is warmed again, the model files are kept.
  await expect(page.locator('html.demo')).toHaveCount(1);
  await expect(page.getByTestId('header-engine')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  const cached = await page.evaluate(async () => {
    const cache = await caches.open('webllm/model');
    const hit = await cache.match(`${location.origin}/demo-model-shard.bin`);
    return hit ? await hit.text() : null;
  });
  expect(cached).toBe('model bytes');
  expect(problems).toEqual([]);
});

test('the reset asks first, and keeping everything changes nothing', async ({ page }) => {
  await page.goto('/#/documents');
  await page.getByTestId('samples-load').click();
  await expect(page.getByTestId('doc-item')).toHaveCount(4);
  await go(page, 'settings');
  await page.getByTestId('demo-reset').click();
  await page.getByTestId('demo-reset-cancel').click();
  await expect(page.getByTestId('demo-reset-confirm')).toHaveCount(0);
  await go(page, 'documents');
  await expect(page.getByTestId('doc-item')).toHaveCount(4);
});
