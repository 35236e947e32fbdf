/**
 * The Compare view: a small sweep with an evaluation set against the fake predictor (real
 * Chromium, real IndexedDB, the real worker), its rows and plots, cancel and resume, a reload
 * that keeps it listed, and the privacy promise for a sweep: the predictor's requests carry the
 * question, the options and the compressions only, never an item's context.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { expect, test, type Page } from './fixtures/test';
import { FAKE_OPENAI_BASE_URL, FAKE_OPENAI_ORIGIN, chatRequests, fetchRecordedRequests, resetFakeOpenAI, scriptFakeOpenAI } from './fixtures/fake-openai-client';
import { fixtureDir, go, watchConsole } from './fixtures/page-helpers';

test.skip(!existsSync(fixtureDir), `stories260K fixture not found at ${fixtureDir}: the sweep test needs the compressor model`);

function items(canary: string): string {
  const rows = [
    { context: `Tom had a red kite ${canary}-A. He ran up the hill to fly it.`, question: 'What did Tom fly?', options: ['a kite', 'a boat', 'a flag'], answer: 'A' },
    { context: `Mia found a small gray cat ${canary}-B under the bench.`, question: 'What did Mia find?', options: ['a dog', 'a cat', 'a bird'], answer: 'B' },
    { context: `The old bear ${canary}-C lived in a cave by the river.`, question: 'Where did the bear live?', options: ['a tree', 'a house', 'a cave'], answer: 'C' },
  ];
  return rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

async function setUp(page: Page, canary: string, budgets: string) {
  await go(page, 'send');
  await page.getByTestId('predictor-base-url').fill(FAKE_OPENAI_BASE_URL);
  await page.getByTestId('predictor-base-url').press('Tab');
  await page.getByTestId('predictor-key').fill('sk-e2e-sweep-0123456789');
  await page.getByTestId('predictor-key').press('Tab');
  await page.getByTestId('predictor-model').fill('fake-gpt');
  await page.getByTestId('predictor-model').press('Tab');
  await go(page, 'compare');
  await page.locator('[data-testid="sweep-model"][value="reference:stories260K"]').check();
  await page.getByTestId('sweep-budgets').fill(budgets);
  await page.getByTestId('sweep-seeds').fill('0');
  await page.getByTestId('sweep-items').setInputFiles({ name: 'items.jsonl', mimeType: 'application/json', buffer: Buffer.from(items(canary)) });
  await expect(page.getByTestId('sweep-items-summary')).toContainText('3 items');
  await expect(page.getByTestId('sweep-judge')).toHaveValue('choice');
  await expect(page.getByTestId('sweep-estimate')).toContainText('about');
}

test.beforeEach(async () => {
  await resetFakeOpenAI();
});

test('a small sweep with an evaluation set: rows, plots, the fit note, and only compressions reach the predictor', async ({ page, context, baseURL }) => {
  test.setTimeout(180_000);
  const problems = watchConsole(page);
  const canary = `SWEEP-CANARY-${randomBytes(6).toString('hex')}`;
  const seen: { url: string; body: string }[] = [];
  context.on('request', (r) => seen.push({ url: r.url(), body: r.postData() ?? '' }));
  await page.goto('/');
  await setUp(page, canary, '4, 8');
  await page.getByTestId('sweep-start').click();
  await expect(page.getByTestId('sweep-state')).toHaveAttribute('data-state', 'done', { timeout: 150_000 });

  const rows = page.getByTestId('sweep-row');
  await expect(rows).toHaveCount(2);
  for (let i = 0; i < 2; i++) {
    const row = rows.nth(i);
    const mi = Number(await row.getAttribute('data-mi-bits'));
    const bpt = Number(await row.getAttribute('data-bits-per-token'));
    const acc = Number(await row.getAttribute('data-accuracy'));
    expect(Number.isFinite(mi) && mi <= Math.log2(3) + 1e-9).toBe(true);
    expect(bpt).toBeCloseTo(mi / Number(await row.getAttribute('data-budget')), 9);
    expect(acc >= 0 && acc <= 1).toBe(true);
  }
  // Two configurations: no fit, and the page says why.
  await expect(page.getByTestId('sweep-fit')).toContainText('needs at least 3 configurations');

  const plots = page.locator('svg[data-testid="sweep-plot"]');
  expect(await plots.count()).toBeGreaterThanOrEqual(3);
  const first = plots.first();
  await expect(first).toHaveAttribute('data-plot', 'accuracy-mi');
  await expect(first.locator('circle')).toHaveCount(2);
  for (let i = 0; i < (await plots.count()); i++) await expect(plots.nth(i).locator('circle')).toHaveCount(2);

  // Downloads: an SVG, a PNG and the CSV of a plot; the JSON export and the HTML report.
  const fig = page.locator('figure.plot').first();
  for (const [label, ext] of [['SVG', '.svg'], ['PNG', '.png'], ['CSV', '.csv']] as const) {
    const dl = page.waitForEvent('download');
    await fig.getByRole('button', { name: label, exact: true }).click();
    const file = await dl;
    expect(file.suggestedFilename()).toMatch(new RegExp(`\\${ext}$`));
    const bytes = Buffer.concat(await (await file.createReadStream()).toArray());
    if (ext === '.png') {
      expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
      expect(bytes.length).toBeGreaterThan(2000);
    }
    if (ext === '.svg') expect(bytes.toString('utf8')).toContain('<circle');
  }
  const json = page.waitForEvent('download');
  await page.getByTestId('sweep-export-json').click();
  const exported = JSON.parse(await (await (await json).createReadStream()).toArray().then((b) => Buffer.concat(b).toString('utf8')));
  expect(exported.state.configs).toHaveLength(2);
  expect(exported.state.configs[0].runs[0].items).toHaveLength(3);
  expect(exported.state.configs[0].runs[0].compressions[0].ids.length).toBeGreaterThan(0);
  const html = page.waitForEvent('download');
  await page.getByTestId('sweep-export-html').click();
  const report = await (await (await html).createReadStream()).toArray().then((b) => Buffer.concat(b).toString('utf8'));
  expect(report).toContain('<svg');
  expect(report).not.toContain('<script');

  // Privacy: every predictor request is question + options + compressions; no context text.
  const chats = chatRequests(await fetchRecordedRequests());
  expect(chats.length).toBe(2 * 3 + 3);
  for (const r of chats) {
    expect(r.body).not.toContain(canary);
    const user = r.json!.messages!.find((m) => m.role === 'user')!.content;
    expect(user).toMatch(/^Question: .*\n\nOptions:\nA\. /);
  }
  const appOrigin = new URL(baseURL ?? 'http://127.0.0.1:4173').origin;
  for (const s of seen) {
    const origin = new URL(s.url).origin;
    expect([appOrigin, FAKE_OPENAI_ORIGIN]).toContain(origin);
    expect(s.body).not.toContain(canary);
  }

  // Saved: after a reload the sweep is listed as done, opens again, and can be deleted.
  await page.reload();
  await go(page, 'compare');
  const item = page.getByTestId('sweep-item');
  await expect(item).toHaveCount(1);
  await expect(item).toHaveAttribute('data-state', 'done');
  await item.getByRole('button', { name: 'Open' }).click();
  await expect(page.getByTestId('sweep-row')).toHaveCount(2);
  await item.getByTestId('sweep-delete').click();
  await expect(page.getByTestId('sweep-item')).toHaveCount(0);
  expect(problems).toEqual([]);
});

test('cancel keeps what finished, a reload leaves it listed, and resume completes the same sweep', async ({ page }) => {
  test.setTimeout(180_000);
  const canary = `SWEEP-CANARY-${randomBytes(6).toString('hex')}`;
  await page.goto('/');
  await setUp(page, canary, '6, 10, 14');
  // The predictor's first answer never comes: the sweep is still running when Cancel is pressed.
  await scriptFakeOpenAI([{ kind: 'hang' }]);
  await page.getByTestId('sweep-start').click();
  await expect(page.getByTestId('sweep-state')).toHaveAttribute('data-state', 'running');
  await expect(page.getByTestId('sweep-progress')).toContainText('of');
  await page.getByTestId('sweep-cancel').click();
  await expect(page.getByTestId('sweep-state')).toHaveAttribute('data-state', 'cancelled', { timeout: 60_000 });
  // Whether or not the hanging request was reached, none is left scripted for the resume.
  await resetFakeOpenAI();
  await page.reload();
  await go(page, 'compare');
  await expect(page.getByTestId('sweep-item')).toHaveAttribute('data-state', 'cancelled');
  await page.getByTestId('sweep-item').getByRole('button', { name: 'Open' }).click();
  await page.getByTestId('sweep-resume').click();
  await expect(page.getByTestId('sweep-state')).toHaveAttribute('data-state', 'done', { timeout: 150_000 });
  await expect(page.getByTestId('sweep-row')).toHaveCount(3);
  await expect(page.locator('svg[data-testid="sweep-plot"]').first().locator('circle')).toHaveCount(3);
  // Three configurations: the fit is printed.
  await expect(page.getByTestId('sweep-fit')).toContainText('RMSE');
});
