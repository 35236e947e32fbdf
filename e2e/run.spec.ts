/**
 * The run flow in a real browser with stories260K in the worker: compress the selected
 * documents, score every compression under every passage, show the MI gauge and heat maps, keep
 * each compression the moment it finishes, cancel and resume to the same numbers, survive a
 * reload mid-run, and refuse what cannot be measured or does not fit, by name.
 */
import { expect, test, type Page } from './fixtures/test';
import { existsSync } from 'node:fs';
import { STORIES, addAndSelectDocs, cancelAfterFirstCompression, fixtureDir, setRunSettings, go, loadStories, watchConsole } from './fixtures/page-helpers';

test.skip(!existsSync(fixtureDir), `stories260K fixture not found at ${fixtureDir}`);

async function addDocs(page: Page, docs: readonly (readonly [string, string])[]) {
  await addAndSelectDocs(page, docs);
  await go(page, 'compress');
}

const runState = (page: Page) => page.getByTestId('run-state');
const miBits = async (page: Page) => Number(await page.getByTestId('mi-bits').getAttribute('data-value'));

test('a run compresses each passage, measures MI against log2 N, and shows per-token information', async ({ page }) => {
  const problems = watchConsole(page);
  await page.goto('/');
  await loadStories(page);
  await addDocs(page, STORIES);
  await page.getByTestId('question').fill('Who was happy?');
  await setRunSettings(page, { samples: 2, maxTokens: 24, seed: 3 });
  await page.getByTestId('run-start').click();
  await expect(runState(page)).toHaveAttribute('data-state', 'done', { timeout: 60_000 });

  // Three short documents: three passages, two compressions each.
  await expect(page.getByTestId('compression')).toHaveCount(6);
  const ceiling = Number(await page.getByTestId('mi-ceiling-bits').getAttribute('data-value'));
  expect(ceiling).toBeCloseTo(Math.log2(3), 12);
  const mi = await miBits(page);
  expect(Number.isFinite(mi)).toBe(true);
  expect(mi).toBeLessThanOrEqual(ceiling + 1e-9);
  const bpt = Number(await page.getByTestId('bits-per-token').getAttribute('data-value'));
  expect(Number.isFinite(bpt)).toBe(true);

  // Each compression's term is at most log2 N, their mean is the estimate, and each heat map
  // spells exactly the compression's text.
  const terms = await page.getByTestId('compression-term').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.value)));
  expect(terms).toHaveLength(6);
  for (const t of terms) expect(t).toBeLessThanOrEqual(ceiling + 1e-9);
  expect(terms.reduce((a, b) => a + b, 0) / terms.length).toBeCloseTo(mi, 9);
  const first = page.getByTestId('compression').first();
  const heatText = await first.getByTestId('heatmap').evaluate((el) => el.textContent);
  expect(heatText).toBe(await first.evaluate((el) => el.textContent));
  const tokenBits = await first.locator('[data-bits]').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.bits)));
  expect(tokenBits.reduce((a, b) => a + b, 0)).toBeCloseTo(terms[0], 6);

  // Reload: the run is listed as done and reopens with the same numbers.
  await page.reload();
  await go(page, 'runs');
  const item = page.getByTestId('run-item').first();
  await expect(item).toHaveAttribute('data-status', 'done');
  await item.getByTestId('run-reopen').click();
  await expect(runState(page)).toHaveAttribute('data-state', 'done');
  expect(await miBits(page)).toBe(mi);
  await expect(page.getByTestId('heatmap')).toHaveCount(6);

  // Deleting the run removes it from the list and from the screen.
  await go(page, 'runs');
  await item.getByTestId('run-delete').click();
  await item.getByTestId('run-delete-confirm').click();
  await expect(page.getByTestId('run-item')).toHaveCount(0);
  await go(page, 'compress');
  await expect(runState(page)).toHaveCount(0);
  await expect(page.getByTestId('compression')).toHaveCount(0);
  expect(problems).toEqual([]);
});

test('cancel keeps the finished compressions, and resuming gives the numbers of an uninterrupted run', async ({ page }) => {
  const problems = watchConsole(page);
  await page.goto('/');
  await loadStories(page);
  await addDocs(page, STORIES);
  await page.getByTestId('question').fill('What did they find?');
  await setRunSettings(page, { samples: 2, maxTokens: 160, seed: 11 });

  // The reference: the same run, uninterrupted.
  await page.getByTestId('run-start').click();
  await expect(runState(page)).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
  const uninterrupted = await miBits(page);
  const texts = await page.getByTestId('compression').allTextContents();

  await cancelAfterFirstCompression(page);
  await page.getByTestId('run-start').click();
  await expect(runState(page)).toHaveAttribute('data-state', 'cancelled', { timeout: 60_000 });
  const kept = await page.getByTestId('compression').count();
  expect(kept).toBeGreaterThanOrEqual(1);
  expect(kept).toBeLessThanOrEqual(6);
  await expect(page.getByTestId('mi-bits')).toHaveCount(0);
  await go(page, 'runs');
  await expect(page.getByTestId('run-item').first()).toHaveAttribute('data-status', 'cancelled');

  await go(page, 'compress');
  await page.getByTestId('run-resume').click();
  await expect(runState(page)).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
  expect(await miBits(page)).toBe(uninterrupted);
  expect(await page.getByTestId('compression').allTextContents()).toEqual(texts);
  expect(problems).toEqual([]);
});

test('a reload mid-run leaves it interrupted with its compressions, and it can be resumed', async ({ page }) => {
  await page.goto('/');
  await loadStories(page);
  await addDocs(page, STORIES);
  await page.getByTestId('question').fill('Where did it happen?');
  await setRunSettings(page, { samples: 3, maxTokens: 200, seed: 5 });
  // Reload from inside the page the moment the first compression is shown, as a crash would.
  await page.evaluate(() => {
    const observer = new MutationObserver(() => {
      if (document.querySelector('[data-testid="compression-item"]')) {
        observer.disconnect();
        location.reload();
      }
    });
    observer.observe(document.body, { childList: true, subtree: true });
  });
  await Promise.all([page.waitForEvent('load', { timeout: 60_000 }), page.getByTestId('run-start').click()]);

  await go(page, 'runs');
  const item = page.getByTestId('run-item').first();
  await expect(item).toHaveAttribute('data-status', 'interrupted');
  await item.getByTestId('run-reopen').click();
  await expect(runState(page)).toHaveAttribute('data-state', 'interrupted');
  const saved = await page.getByTestId('compression').count();
  expect(saved).toBeGreaterThanOrEqual(1);
  await expect(page.getByTestId('run-notice')).toContainText('Load reference:stories260K and resume');

  // Resuming needs the model the run was made with.
  await page.getByTestId('run-resume').click();
  await expect(page.getByTestId('run-error')).toHaveAttribute('data-error-name', 'ModelMismatchError');
  await loadStories(page);
  await page.getByTestId('run-resume').click();
  await expect(runState(page)).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
  await expect(page.getByTestId('compression')).toHaveCount(9);
  expect(Number.isFinite(await miBits(page))).toBe(true);
  await go(page, 'runs');
  await expect(item).toHaveAttribute('data-status', 'done');
});

test('one passage and no other documents: compressions, and MI said to need a bank, not 0', async ({ page }) => {
  await page.goto('/');
  await loadStories(page);
  await addDocs(page, STORIES.slice(0, 1));
  await page.getByTestId('question').fill('What colour was the kite?');
  await page.getByTestId('run-start').click();
  await expect(runState(page)).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(page.getByTestId('compression')).toHaveCount(1);
  await expect(page.getByTestId('mi-bits')).toHaveCount(0);
  await expect(page.getByTestId('mi-not-measured')).toContainText('at least two contexts');
});

test('one selected document is measured against other library documents, which are not sent', async ({ page }) => {
  await page.goto('/');
  await loadStories(page);
  await addDocs(page, STORIES.slice(1));
  // Keep only the first of the two selected (the checkbox toggles; clicking a row never deselects).
  await go(page, 'documents');
  const other = page.getByTestId('doc-item').filter({ hasText: STORIES[2][0] });
  await other.getByTestId('doc-select').uncheck();
  await expect(other).toHaveAttribute('data-selected', 'false');
  await go(page, 'compress');
  await page.getByTestId('question').fill('What was lost?');
  await page.getByTestId('run-start').click();
  await expect(runState(page)).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(page.getByTestId('mi-ceiling-bits')).toHaveAttribute('data-value', '1');
  await expect(page.getByTestId('run-notice')).toContainText('added as contrast');
  await expect(page.locator('[data-testid="compression-item"][data-question-doc="false"]')).toHaveCount(1);
});

test('a token budget that leaves no room in the window is refused by name', async ({ page }) => {
  await page.goto('/');
  await loadStories(page);
  await addDocs(page, STORIES.slice(0, 2));
  await setRunSettings(page, { maxTokens: 505 });
  await page.getByTestId('run-start').click();
  await expect(runState(page)).toHaveAttribute('data-state', 'failed');
  await expect(page.getByTestId('run-error')).toHaveAttribute('data-error-name', 'ContextTooLongError');
  // A budget beyond the window is not a number the run accepts at all.
  await setRunSettings(page, { maxTokens: 600 });
  await page.getByTestId('run-start').click();
  await expect(page.getByTestId('run-error')).toHaveAttribute('data-error-name', 'InvalidArgumentError');
  await expect(page.getByTestId('run-error')).toContainText('from 1 to 512');
  // Nothing was lost and the engine still runs.
  await setRunSettings(page, { maxTokens: 16 });
  await page.getByTestId('run-start').click();
  await expect(runState(page)).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  // The question and settings of the next run survive a reload.
  await page.reload();
  await expect(page.getByTestId('run-max-tokens')).toHaveValue('16');
});

test('a selection too large to score every passage against every other is refused by name', async ({ page }) => {
  await page.goto('/');
  await loadStories(page);
  const long = Array.from({ length: 3000 }, (_, i) => `On day ${i} the cat sat on the warm mat and looked at the birds.`).join('\n\n');
  await go(page, 'documents');
  await page.getByTestId('doc-file').setInputFiles({ name: 'diary.txt', mimeType: 'text/plain', buffer: Buffer.from(long) });
  await page.getByTestId('doc-item').filter({ hasText: 'diary' }).click();
  await go(page, 'compress');
  await page.getByTestId('run-start').click();
  await expect(runState(page)).toHaveAttribute('data-state', 'failed');
  await expect(page.getByTestId('run-error')).toHaveAttribute('data-error-name', 'BankTooLargeError');
  await expect(page.getByTestId('run-error')).toContainText('Select fewer or shorter documents');
});

test('a full disk mid-run fails it by name, keeps what was saved, and it resumes once there is room', async ({ page }) => {
  // Simulate the quota running out: while the flag is set, writing a compression throws the
  // browser's QuotaExceededError, exactly where a full disk would.
  await page.addInitScript(() => {
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<typeof put>) {
      if ((window as unknown as { __fullDisk?: boolean }).__fullDisk && this.name === 'compressions') {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      }
      return put.apply(this, args);
    };
  });
  await page.goto('/');
  await loadStories(page);
  await addDocs(page, STORIES);
  await setRunSettings(page, { samples: 2, maxTokens: 120, seed: 2 });
  await page.evaluate(() => {
    const observer = new MutationObserver(() => {
      if (document.querySelector('[data-testid="compression-item"]')) {
        observer.disconnect();
        (window as unknown as { __fullDisk?: boolean }).__fullDisk = true;
      }
    });
    observer.observe(document.body, { childList: true, subtree: true });
  });
  await page.getByTestId('run-start').click();
  await expect(runState(page)).toHaveAttribute('data-state', 'failed', { timeout: 60_000 });
  await expect(page.getByTestId('run-error')).toHaveAttribute('data-error-name', 'StorageQuotaError');
  const kept = await page.getByTestId('compression').count();
  expect(kept).toBeGreaterThanOrEqual(1);
  expect(kept).toBeLessThan(6);

  await page.evaluate(() => ((window as unknown as { __fullDisk?: boolean }).__fullDisk = false));
  await page.getByTestId('run-resume').click();
  await expect(runState(page)).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(page.getByTestId('compression')).toHaveCount(6);
  expect(Number.isFinite(await miBits(page))).toBe(true);
});
