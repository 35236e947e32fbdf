/**
 * A sweep run on the command line (on a server, a cluster or with a generate-only compressor)
 * opened in the Compare view: its table and plots from the file, kept with the saved sweeps
 * across a reload, never resumed here; a file that is not a sweep is refused by name.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../cli/run-cli';
import { expect, test } from './fixtures/test';
import { fixtureDir, go, STORIES } from './fixtures/page-helpers';

test.skip(!existsSync(fixtureDir), `stories260K fixture not found at ${fixtureDir}: the sweep file is written with it`);

interface SweepJson {
  status: string;
  configs: { budget: number; miBitsMean: number }[];
}

/** A small sweep, run the way a user runs it: `npm run --silent sweep -- --config FILE`. */
async function cliSweep(): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'precis-e2e-sweep-file-'));
  const contexts = path.join(dir, 'bank.jsonl');
  writeFileSync(contexts, STORIES.slice(0, 4).map(([, text]) => JSON.stringify({ text })).join('\n') + '\n');
  const config = path.join(dir, 'sweep.json');
  writeFileSync(config, JSON.stringify({ engine: 'reference', models: [fixtureDir], contexts, question: 'Who is in the story?', budgets: [4, 8], seeds: [0], samples: 1 }));
  const r = await runCli('sweep.ts', ['--config', config]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

test('a sweep file from the command line opens with its rows and plots, stays listed, and is not resumed here', async ({ page }) => {
  test.setTimeout(90_000);
  const text = await cliSweep();
  const json = JSON.parse(text) as SweepJson;
  expect(json.status).toBe('done');

  await page.goto('/');
  await go(page, 'compare');
  await page.getByTestId('sweep-open-file').setInputFiles({ name: 'cluster-sweep.json', mimeType: 'application/json', buffer: Buffer.from(text) });
  await expect(page.getByTestId('sweep-state')).toContainText('Opened from cluster-sweep.json');
  const rows = page.getByTestId('sweep-row');
  await expect(rows).toHaveCount(2);
  for (const [i, c] of json.configs.entries()) {
    await expect(rows.nth(i)).toHaveAttribute('data-budget', String(c.budget));
    await expect(rows.nth(i)).toHaveAttribute('data-mi-bits', String(c.miBitsMean));
  }
  expect(await page.locator('svg[data-testid="sweep-plot"]').count()).toBeGreaterThanOrEqual(1);
  await expect(page.getByTestId('sweep-resume')).toHaveCount(0);
  const item = page.getByTestId('sweep-item').filter({ hasText: 'cluster-sweep.json' });
  await expect(item).toHaveAttribute('data-state', 'done');

  // Kept in IndexedDB: listed after a reload, and it opens again.
  await page.reload();
  await go(page, 'compare');
  await expect(item).toHaveCount(1);
  await item.getByRole('button', { name: 'Open' }).click();
  await expect(rows).toHaveCount(2);

  // An unfinished file is shown as such, with no Resume here.
  const paused = JSON.stringify({ ...JSON.parse(text), status: 'paused' });
  await page.getByTestId('sweep-open-file').setInputFiles({ name: 'paused.json', mimeType: 'application/json', buffer: Buffer.from(paused) });
  await expect(page.getByTestId('sweep-state')).toContainText('not finished: resume it where it was run');
  await expect(page.getByTestId('sweep-resume')).toHaveCount(0);

  // Not a sweep: refused by name, and nothing is added.
  const before = await page.getByTestId('sweep-item').count();
  await page.getByTestId('sweep-open-file').setInputFiles({ name: 'notes.json', mimeType: 'application/json', buffer: Buffer.from('{"hello": 1}') });
  await expect(page.getByTestId('sweep-open-error')).toHaveAttribute('data-error-name', 'SweepImportError');
  await expect(page.getByTestId('sweep-open-error')).toContainText('notes.json cannot be opened as a sweep: it is not a Précis sweep output');
  await expect(page.getByTestId('sweep-item')).toHaveCount(before);
});
