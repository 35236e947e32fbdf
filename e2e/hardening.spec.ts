/**
 * Issue 9's bad input against the built app in real Chromium: pathological files import without
 * freezing the page, crafted exports are refused by path and change nothing, a UTF-8 file with
 * stray bytes stays UTF-8 and says so, Cancel stops chunking, the Storage panel follows the
 * library, and the page holds no handle on the worker.
 */
import { expect, test, type Page } from './fixtures/test';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addPastedDoc, fixtureDir, go, loadStories, ownCompressorWorker } from './fixtures/page-helpers';
import { pathologicalFiles } from './fixtures/pathological';

const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

/** Record the page's long main-thread tasks from the start (the Long Tasks API). */
async function watchLongTasks(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __longestTaskMs: number };
    w.__longestTaskMs = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__longestTaskMs = Math.max(w.__longestTaskMs, e.duration);
    }).observe({ type: 'longtask', buffered: true });
  });
}
const longestTaskMs = (page: Page) => page.evaluate(() => (window as unknown as { __longestTaskMs: number }).__longestTaskMs);
/** Forget what the page's start-up cost (parsing its scripts is not what is measured). */
const resetLongTasks = (page: Page) => page.evaluate(() => ((window as unknown as { __longestTaskMs: number }).__longestTaskMs = 0));

test('pathological files import while the page stays responsive', async ({ page }) => {
  test.setTimeout(180_000);
  await watchLongTasks(page);
  const dir = tmp('precis-patho-');
  const files = pathologicalFiles().map((f) => {
    const path = join(dir, f.name);
    writeFileSync(path, f.data);
    return path;
  });
  await page.goto('/');
  await expect(page.getByTestId('library-panel')).toHaveAttribute('data-ready', 'true');
  await resetLongTasks(page);
  await page.getByTestId('doc-file').setInputFiles(files);
  await expect(page.getByTestId('import-progress')).toBeVisible();
  // The page answers while the files are read and extracted (in the import worker).
  let worstRoundTripMs = 0;
  while (await page.getByTestId('import-progress').count()) {
    const t0 = Date.now();
    await page.evaluate(() => 1);
    worstRoundTripMs = Math.max(worstRoundTripMs, Date.now() - t0);
    await page.waitForTimeout(100);
  }
  await expect(page.getByTestId('doc-item')).toHaveCount(files.length);
  await expect(page.getByTestId('library-error')).toHaveCount(0);
  const longest = await longestTaskMs(page);
  console.log(`pathological imports: longest main-thread task ${longest.toFixed(0)} ms, slowest round trip ${worstRoundTripMs} ms`);
  // Before, the 400 KB <pre> alone held the main thread for minutes. The goal is 100 ms; the bound
  // here is loose because CI shares two cores between many processes.
  expect(longest).toBeLessThan(3_000);
  await page.getByTestId('doc-item').filter({ hasText: 'pre-spaces' }).click();
  await expect(page.getByTestId('doc-text')).toHaveText('x');
  await page.getByTestId('doc-item').filter({ hasText: 'deep-nesting' }).click();
  await expect(page.getByTestId('doc-text')).toHaveText('deep');
});

test('a UTF-8 file with stray bytes stays UTF-8, and the page says how many were replaced', async ({ page }) => {
  const dir = tmp('precis-enc-');
  const good = Buffer.from('Ünïcödé café, naïve résumé. '.repeat(20), 'utf8');
  writeFileSync(join(dir, 'mixed.txt'), Buffer.concat([good, Buffer.from([0xff]), good, Buffer.from([0xc3, 0x28]), good]));
  writeFileSync(join(dir, 'legacy.txt'), Buffer.from('Déjà vu: the café served crème brûlée.', 'latin1'));
  await page.goto('/');
  await page.getByTestId('doc-file').setInputFiles([join(dir, 'mixed.txt'), join(dir, 'legacy.txt')]);
  await expect(page.getByTestId('doc-item')).toHaveCount(2);
  await expect(page.getByTestId('library-notice').filter({ hasText: 'mixed.txt' })).toContainText('2 byte sequences are not valid UTF-8');
  await expect(page.getByTestId('library-notice').filter({ hasText: 'legacy.txt' })).toContainText('Windows-1252');
  await page.getByTestId('doc-item').filter({ hasText: 'mixed' }).click();
  await expect(page.getByTestId('doc-text')).toContainText('Ünïcödé café');
  await expect(page.getByTestId('doc-text')).toContainText('\uFFFD');
  await page.getByTestId('doc-item').filter({ hasText: 'legacy' }).click();
  await expect(page.getByTestId('doc-text')).toHaveText('Déjà vu: the café served crème brûlée.');
});

/** A valid export with two documents and two runs (as the app writes it), as parsed lines. */
function validExport(): Record<string, any>[] {
  const settings = { temperature: 1, topP: 1, maxTokens: 8, seed: 1, samplesPerContext: 1 };
  const doc = (id: string, text: string) => ({ id, title: id, kind: 'pasted', mime: '', sizeBytes: text.length, text, createdAt: 1 });
  const run = (id: string) => ({
    run: {
      id, createdAt: 2, updatedAt: 3, finishedAt: 3, status: 'done', question: `Question of ${id}?`, docIds: ['d1', 'd2'],
      modelId: 'reference:stories260K', settings: { ...settings }, miResult: null, error: null,
      bank: [{ docId: 'd1', chunkIndex: 0, text: 'first text' }, { docId: 'd2', chunkIndex: 0, text: 'second text' }],
    },
    compressions: [{ index: 0, context: 0, sample: 0, text: 'c', ids: [5], logprobsNats: [-1], truncated: false, empty: false, savedAt: 3 }],
    exchanges: [{ host: 'https://api.example.com', model: 'gpt', at: 4, messages: [{ role: 'user', content: 'c' }], response: 'ok', usage: null }],
  });
  return [
    { format: 'precis-export', schemaVersion: 2, exportedAt: '2026-01-01T00:00:00.000Z', scope: 'library', contains: '' },
    { document: doc('d1', 'first text') },
    { document: doc('d2', 'second text') },
    { run: run('r1') },
    { run: run('r2') },
    { setting: { key: 'library.open', value: 'd1' } },
  ];
}

test('crafted exports are refused with the path of the bad field, and the library is unchanged', async ({ page }) => {
  const dir = tmp('precis-crafted-');
  const write = (name: string, lines: Record<string, any>[]) => {
    const path = join(dir, name);
    writeFileSync(path, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    return path;
  };
  const runs = (l: Record<string, any>[]) => l.filter((x) => x.run);
  const crafted: [string, (l: Record<string, any>[]) => void, string][] = [
    ['null-exchange', (l) => (runs(l)[1].run.exchanges = [null]), 'runs[1].exchanges[0]'],
    ['mibits-string', (l) => (runs(l)[0].run.run.miResult = { kind: 'measured', summary: { miBits: '2' } }), 'runs[0].run.miResult'],
    ['messages-not-list', (l) => (runs(l)[0].run.exchanges[0].messages = 'hello'), 'runs[0].exchanges[0].messages'],
    ['huge-bank', (l) => (runs(l)[0].run.run.bank = Array.from({ length: 10_000 }, (_, i) => ({ docId: 'd1', chunkIndex: i, text: 't' }))), 'runs[0].run.bank'],
    ['huge-m', (l) => (runs(l)[1].run.run.settings.samplesPerContext = 100_000), 'runs[1].run.settings.samplesPerContext'],
  ];
  await page.goto('/');
  await addPastedDoc(page, 'Kept', 'This document was here before any import.');
  const errors = page.getByTestId('library-error');
  for (const [i, [name, craft, path]] of crafted.entries()) {
    const lines = validExport();
    craft(lines);
    await page.getByTestId('library-import').setInputFiles(write(`${name}.ndjson`, lines));
    await expect(errors).toHaveCount(i + 1);
    await expect(errors.nth(i)).toHaveAttribute('data-error-name', 'ImportFormatError');
    await expect(errors.nth(i)).toContainText(path);
    await expect(errors.nth(i)).toContainText('Nothing was changed');
    await expect(page.getByTestId('doc-item')).toHaveCount(1);
  }
  await page.reload();
  await expect(page.getByTestId('doc-item')).toHaveCount(1);
  await go(page, 'runs');
  await expect(page.getByTestId('runs-list')).toBeVisible();
  await expect(page.getByTestId('run-item')).toHaveCount(0);
  await go(page, 'documents');

  // The same file without the crafted field imports, with its unknown setting left out.
  const lines = validExport();
  lines.push({ setting: { key: 'evil.flag', value: true } });
  await page.getByTestId('library-import').setInputFiles(write('valid.ndjson', lines));
  await expect(page.getByTestId('doc-item')).toHaveCount(3);
  await expect(page.getByTestId('library-notice').last()).toContainText('1 unknown setting(s) were left out');
  await go(page, 'runs');
  await expect(page.getByTestId('run-item')).toHaveCount(2);
  await expect(page.getByTestId('run-item').first()).toHaveAttribute('data-state', 'done');
});

test('the Storage panel follows the library as documents are added and deleted', async ({ page }) => {
  await page.goto('/#/models');
  const docs = page.getByTestId('storage-documents');
  await expect(docs).toContainText('in 0 documents');
  await go(page, 'documents');
  await addPastedDoc(page, 'Counted', 'A document the storage panel should count.');
  await go(page, 'models');
  await expect(docs).toContainText('in 1 document');
  await expect(docs).not.toHaveAttribute('data-bytes', '0');
  await go(page, 'documents');
  await page.getByTestId('doc-delete').click();
  await page.getByTestId('doc-delete-confirm').click();
  await expect(page.getByTestId('doc-item')).toHaveCount(0);
  await go(page, 'models');
  await expect(docs).toContainText('in 0 documents');
});

test.describe('with the stories260K fixture', () => {
  test.skip(!existsSync(fixtureDir), `stories260K fixture not found at ${fixtureDir}`);

  test('the page holds no handle on the worker; a test starts its own copy of it', async ({ page }) => {
    await page.goto('/?e2e=1');
    await loadStories(page);
    expect(await page.evaluate(() => Object.keys(window).filter((k) => /compressor|worker/i.test(k)))).toEqual([]);
    const call = await ownCompressorWorker(page);
    expect(await call('info')).toBeNull();
    const info = (await call('load', {
      kind: 'reference-url',
      name: 'stories260K',
      checkpointUrl: '/models/stories260K/stories260K.bin',
      tokenizerUrl: '/models/stories260K/tok512.bin',
    })) as { id: string };
    expect(info.id).toMatch(/stories260K/);
    expect(((await call('tokenize', 'Once upon a time')) as number[]).length).toBeGreaterThan(0);
  });

  test('Cancel while a huge document is being chunked ends the run as cancelled and stops the chunking', async ({ page }) => {
    test.setTimeout(180_000);
    const dir = tmp('precis-huge-');
    const huge = join(dir, 'huge.txt');
    const para = 'The mill wheel turned all night while the river rose. '.repeat(40) + '\n\n';
    writeFileSync(huge, para.repeat(Math.ceil((10 * 1024 * 1024) / para.length)));
    await page.goto('/');
    await loadStories(page);
    await go(page, 'documents');
    await addPastedDoc(page, 'Kite', 'Lily had a red kite. She ran in the park and the kite went up high.');
    await addPastedDoc(page, 'Dog', 'Tom saw a big dog near the tree. The dog was sad because it lost its ball.');
    await page.getByTestId('doc-file').setInputFiles(huge);
    const hugeItem = page.getByTestId('doc-item').filter({ hasText: 'huge' });
    await expect(hugeItem).toHaveCount(1);
    await hugeItem.click();
    // The passage preview of the 10 MB document keeps the worker chunking for many seconds.
    await page.getByTestId('doc-chunks').locator('summary').click();
    await expect(page.getByTestId('doc-chunks-state')).toHaveAttribute('data-state', 'counting');
    await hugeItem.getByTestId('doc-select').uncheck();
    await expect(hugeItem).toHaveAttribute('data-selected', 'false');
    // The run's own split waits behind it (in the worker's queue): Cancel reaches it there.
    await go(page, 'compress');
    await page.getByTestId('run-start').click();
    await expect(page.getByTestId('run-preparing')).toBeVisible();
    await page.getByTestId('run-cancel').click();
    await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'cancelled');
    await expect(page.getByTestId('run-notice')).toContainText('Cancelled while splitting');
    // The worker is free again: a new run on the small documents goes through.
    await page.getByTestId('run-start').click();
    await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
  });
});
