/**
 * The document library against the built app and Chromium's real IndexedDB: paste and import
 * the four kinds of file, reload and find everything, duplicates and bad files, export, clear and
 * import back to the same library, a run cut short by a reload, and a 50 MB text file.
 * Each test gets a fresh browser context, so a fresh database.
 */
import { expect, test, type Page } from './fixtures/test';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { go, putAppRecords } from './fixtures/page-helpers';

const docs = resolve(import.meta.dirname, 'fixtures/docs');
const fixture = (name: string) => join(docs, name);

async function addPasted(page: Page, title: string, text: string) {
  await page.getByTestId('doc-title').fill(title);
  await page.getByTestId('doc-paste').fill(text);
  await page.getByTestId('doc-add').click();
}

/** An export file's lines: the header, then one document, run or setting per line. */
function readExportFile(path: string) {
  const [header, ...lines] = readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
  return {
    ...header,
    documents: lines.filter((l) => l.document).map((l) => l.document),
    runs: lines.filter((l) => l.run).map((l) => l.run),
    settings: lines.filter((l) => l.setting).map((l) => l.setting),
  };
}

function item(page: Page, title: string) {
  return page.getByTestId('doc-item').filter({ hasText: title });
}

test('paste and import .txt .md .html .pdf, reload, open each', async ({ page }) => {
  await page.goto('/');
  await addPasted(page, 'Pasted memo', 'The committee meets on Thursday at nine.');
  await expect(page.getByTestId('doc-item')).toHaveCount(1);
  await expect(item(page, 'Pasted memo')).toHaveAttribute('data-selected', 'true');
  await expect(page.getByTestId('doc-text')).toHaveText('The committee meets on Thursday at nine.');

  await page
    .getByTestId('doc-file')
    .setInputFiles([fixture('notes.txt'), fixture('recipe.md'), fixture('field-report.html'), fixture('harbour.pdf')]);
  await expect(page.getByTestId('doc-item')).toHaveCount(5);
  await expect(page.getByTestId('import-progress')).toHaveCount(0);
  await expect(page.getByTestId('library-error')).toHaveCount(0);

  await page.reload();
  await expect(page.getByTestId('doc-item')).toHaveCount(5);
  for (const title of ['Pasted memo', 'notes', 'Lentil soup for a cold evening', 'Field report: river survey', 'Harbour log']) {
    await expect(item(page, title)).toHaveCount(1);
  }
  // Each shows size and a token estimate.
  await expect(item(page, 'notes')).toContainText(/\d+ B · ≈\d+ tokens/);

  await item(page, 'Harbour log').click();
  await expect(page.getByTestId('doc-text')).toContainText('The lighthouse keeper counted seventeen ships on Tuesday.');
  await expect(page.getByTestId('doc-text')).toContainText('Nobody saw the eighteenth ship.');
  await expect(item(page, 'Harbour log')).toHaveAttribute('data-selected', 'true');

  await item(page, 'Field report').click();
  const html = page.getByTestId('doc-text');
  await expect(html).toContainText('Three otters were seen near the footbridge.');
  await expect(html).not.toContainText('SCRIPT_SHOULD_NOT_APPEAR');
  await expect(html).not.toContainText('color: red');

  await item(page, 'Lentil soup').click();
  await expect(page.getByTestId('doc-text')).toContainText('250 g red lentils');
  await item(page, 'notes').click();
  await expect(page.getByTestId('doc-text')).toContainText('The tomatoes went in');

  // Clicking again never deselects; the checkbox does.
  await item(page, 'notes').click();
  await expect(item(page, 'notes')).toHaveAttribute('data-selected', 'true');
  await item(page, 'notes').getByTestId('doc-select').uncheck();
  await expect(item(page, 'notes')).toHaveAttribute('data-selected', 'false');
  await page.reload();
  await expect(item(page, 'notes')).toHaveAttribute('data-selected', 'false');
  await expect(item(page, 'Harbour log')).toHaveAttribute('data-selected', 'true');
  // HTML is read by a tokenizer in the import worker, not parsed into a document: the imported
  // file's own <style> is never applied, so no violation is reported (the fixture checks).
});

test('duplicates are stored once; empty, binary, encrypted and broken files are refused clearly', async ({ page }) => {
  await page.goto('/');
  await page.getByTestId('doc-file').setInputFiles(fixture('notes.txt'));
  await expect(page.getByTestId('doc-item')).toHaveCount(1);
  await page.getByTestId('doc-file').setInputFiles(fixture('notes.txt'));
  await expect(page.getByTestId('library-notice').last()).toContainText('already in the library');
  await addPasted(page, 'Same again', readFileSync(fixture('notes.txt'), 'utf8'));
  await expect(page.getByTestId('library-notice')).toHaveCount(2);
  await expect(page.getByTestId('doc-item')).toHaveCount(1);

  await page
    .getByTestId('doc-file')
    .setInputFiles([fixture('empty.txt'), fixture('binary.txt'), fixture('locked.pdf'), fixture('broken.pdf')]);
  const errors = page.getByTestId('library-error');
  await expect(errors).toHaveCount(4);
  await expect(errors.nth(0)).toHaveAttribute('data-error-name', 'EmptyFileError');
  await expect(errors.nth(0)).toContainText('empty.txt');
  await expect(errors.nth(1)).toHaveAttribute('data-error-name', 'BinaryFileError');
  await expect(errors.nth(2)).toHaveAttribute('data-error-name', 'PdfError');
  await expect(errors.nth(2)).toContainText('password');
  await expect(errors.nth(3)).toHaveAttribute('data-error-name', 'PdfError');
  await expect(page.getByTestId('doc-item')).toHaveCount(1);
});

test('export, delete all, import: the same library comes back', async ({ page }) => {
  await page.goto('/');
  await addPasted(page, 'Alpha', 'Alpha text with ünïcödé and “quotes”.');
  await page.getByTestId('doc-file').setInputFiles([fixture('recipe.md'), fixture('harbour.pdf')]);
  await expect(page.getByTestId('doc-item')).toHaveCount(3);

  const exportOnce = async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('library-export').click()]);
    const path = join(mkdtempSync(join(tmpdir(), 'precis-export-')), download.suggestedFilename());
    await download.saveAs(path);
    return path;
  };
  const first = await exportOnce();
  const exported = readExportFile(first);
  expect(exported.format).toBe('precis-export');
  expect(first).toMatch(/\.ndjson$/);
  expect(exported.documents).toHaveLength(3);

  await page.getByTestId('library-clear').click();
  await page.getByTestId('library-clear-confirm').click();
  await expect(page.getByTestId('doc-item')).toHaveCount(0);
  await page.reload();
  await expect(page.getByTestId('doc-item')).toHaveCount(0);

  await page.getByTestId('library-import').setInputFiles(first);
  await expect(page.getByTestId('doc-item')).toHaveCount(3);
  const again = readExportFile(await exportOnce());
  expect(again.documents).toEqual(exported.documents);
  expect(again.runs).toEqual(exported.runs);

  // A file that is not JSON, and one from a future version: clear messages, nothing lost.
  const dir = mkdtempSync(join(tmpdir(), 'precis-bad-'));
  writeFileSync(join(dir, 'not-json.json'), 'this is not json');
  writeFileSync(join(dir, 'future.json'), JSON.stringify({ format: 'precis-export', schemaVersion: 99, documents: exported.documents }));
  await page.getByTestId('library-import').setInputFiles(join(dir, 'not-json.json'));
  await expect(page.getByTestId('library-error').last()).toContainText('not JSON');
  await page.getByTestId('library-import').setInputFiles(join(dir, 'future.json'));
  await expect(page.getByTestId('library-error').last()).toContainText('newer version');
  await expect(page.getByTestId('doc-item')).toHaveCount(3);
});

test('a run cut short by a reload shows as interrupted with its finished compressions', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('library-panel')).toHaveAttribute('data-ready', 'true');
  // Write a run in progress straight into the app's database, as the run flow would have left it.
  const now = Date.now();
  await putAppRecords(page, {
    runs: [{
      id: 'run-e2e', createdAt: now, updatedAt: now, finishedAt: null, status: 'running', question: 'What was counted?',
      docIds: [], modelId: 'reference:stories260K', bankSize: 1,
      settings: { temperature: 1, topP: 1, maxTokens: 8, seed: 1, samplesPerContext: 2 }, miResult: null, error: null,
    }],
    runBanks: [{ runId: 'run-e2e', bank: [{ docId: 'd', chunkIndex: 0, text: 'ships' }] }],
    compressions: [0, 1].map((index) => ({
      runId: 'run-e2e', index, context: 0, sample: index, text: `c${index}`, ids: [1], logprobsNats: [-1],
      truncated: false, empty: false, savedAt: now,
    })),
  });
  await page.reload();
  await go(page, 'runs');
  const run = page.locator('[data-testid="run-item"][data-run-id="run-e2e"]');
  await expect(run).toHaveAttribute('data-status', 'interrupted');
  const saved = await page.evaluate(
    () =>
      new Promise<number>((res, rej) => {
        const req = indexedDB.open('precis');
        req.onsuccess = () => {
          const count = req.result.transaction('compressions').objectStore('compressions').count();
          count.onsuccess = () => {
            res(count.result);
            req.result.close();
          };
        };
        req.onerror = () => rej(req.error);
      }),
  );
  expect(saved).toBe(2);
});

test('a 50 MB text file is read as a stream while the page stays responsive', async ({ page }) => {
  test.setTimeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'precis-big-'));
  const path = join(dir, 'big.txt');
  const para = 'A long report paragraph about rivers, mills and the weather of the valley. '.repeat(12) + '\n\n';
  writeFileSync(path, para.repeat(Math.ceil((50 * 1024 * 1024) / para.length)));
  await page.goto('/');
  await page.getByTestId('doc-file').setInputFiles(path);
  await expect(page.getByTestId('import-progress')).toBeVisible();
  // The main thread answers promptly while the file streams in.
  let worstMs = 0;
  while (await page.getByTestId('import-progress').count()) {
    const t0 = Date.now();
    await page.evaluate(() => 1);
    worstMs = Math.max(worstMs, Date.now() - t0);
    await page.waitForTimeout(100);
  }
  console.log(`50 MB import: slowest main-thread round trip ${worstMs} ms`);
  await expect(item(page, 'big')).toHaveCount(1);
  await expect(page.getByTestId('doc-text-truncated')).toBeVisible();
  await expect(page.getByTestId('library-error')).toHaveCount(0);
});
