/**
 * The first try in one click: the sample documents go into the library tagged as samples, the
 * first run on them measures MI with the reference engine (a number, not "not measured"), and
 * they are removed in one click while the user's own documents stay.
 */
import { existsSync } from 'node:fs';
import { addPastedDoc, fixtureDir, go, loadStories, watchConsole } from './fixtures/page-helpers';
import { expect, test } from './fixtures/test';

test('samples load tagged, the first run on them measures MI, and they are removed in one click', async ({ page }) => {
  test.skip(!existsSync(fixtureDir), `stories260K fixture not found at ${fixtureDir}`);
  const problems = watchConsole(page);
  await page.goto('/');
  await addPastedDoc(page, 'My own note', 'The baker opened at dawn and sold out by nine.');
  await page.getByTestId('samples-load').click();
  const samples = page.getByTestId('doc-item').filter({ hasText: 'Sample:' });
  await expect(samples).toHaveCount(4);
  // The story is open and is the only document selected for the first run.
  const story = page.getByTestId('doc-item').filter({ hasText: 'The Red Kite' });
  await expect(story).toHaveAttribute('data-selected', 'true');
  await expect(page.locator('[data-testid="doc-item"][data-selected="true"]')).toHaveCount(1);
  await expect(page.getByTestId('doc-text')).toContainText('Once upon a time there was a little girl named Mia.');
  // Each is tagged as a sample in the stored record.
  const flags = await page.evaluate(
    () =>
      new Promise<Record<string, boolean>>((resolve, reject) => {
        const req = indexedDB.open('precis');
        req.onsuccess = () => {
          const all = req.result.transaction('documents').objectStore('documents').getAll();
          all.onsuccess = () => {
            resolve(Object.fromEntries(all.result.map((d: { title: string; sample?: boolean }) => [d.title, d.sample === true])));
            req.result.close();
          };
        };
        req.onerror = () => reject(req.error);
      }),
  );
  expect(Object.values(flags).filter(Boolean)).toHaveLength(4);
  expect(flags['My own note']).toBe(false);
  // Loading them again stores nothing twice.
  await page.getByTestId('samples-load').click();
  await expect(page.getByTestId('library-notice')).toHaveCount(0);
  await expect(page.getByTestId('doc-item')).toHaveCount(5);

  // The first run: a suggested question, the reference engine, MI measured.
  await loadStories(page);
  await page.getByTestId('question-suggestion').filter({ hasText: 'Who helped get the kite down?' }).click();
  await expect(page.getByTestId('question')).toHaveValue('Who helped get the kite down?');
  await page.getByTestId('run-start').click();
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(page.getByTestId('mi-not-measured')).toHaveCount(0);
  const mi = await page.getByTestId('mi-bits').getAttribute('data-value');
  expect(mi, 'mi-bits data-value').toMatch(/^-?\d/);
  expect(Number.isFinite(Number(mi))).toBe(true);
  const ceiling = Number(await page.getByTestId('mi-ceiling-bits').getAttribute('data-value'));
  expect(ceiling).toBeGreaterThanOrEqual(1); // N >= 2

  // One click removes every sample; the user's own document stays.
  await go(page, 'documents');
  await page.getByTestId('samples-remove').click();
  await expect(page.getByTestId('doc-item')).toHaveCount(1);
  await expect(page.getByTestId('doc-item')).toContainText('My own note');
  await expect(page.getByTestId('samples-remove')).toHaveCount(0);
  expect(problems).toEqual([]);
});
