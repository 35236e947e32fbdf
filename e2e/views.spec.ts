/**
 * The views: one per step, each with its own hash URL that a reload keeps; the header's status
 * (compressor and where it runs, predictor host, a run in progress); the next step from a blank
 * page; an unknown view; and a run that goes on while another view is shown.
 */
import { expect, test } from './fixtures/test';
import { existsSync } from 'node:fs';
import { FAKE_OPENAI_BASE_URL } from './fixtures/fake-openai-client';
import { addPastedDoc, fixtureDir, go, loadStories, putAppRecords, watchConsole, type ViewName } from './fixtures/page-helpers';

const VIEWS: ViewName[] = ['documents', 'compress', 'send', 'runs', 'compare', 'models', 'settings'];

test('each view has its own URL, a reload keeps it, and the nav marks the current one', async ({ page }) => {
  const problems = watchConsole(page);
  await page.goto('/');
  const nav = page.getByTestId('nav');
  await expect(nav).toHaveCount(VIEWS.length);
  expect(await nav.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.view))).toEqual(VIEWS);
  // The first screen is Documents.
  await expect(page.locator('[data-testid="nav"][aria-current="page"]')).toHaveAttribute('data-view', 'documents');

  for (const view of VIEWS) {
    await go(page, view);
    expect(new URL(page.url()).hash).toBe(`#/${view}`);
    await expect(page.locator('[data-testid="nav"][aria-current="page"]')).toHaveCount(1);
    await page.reload();
    await expect(page.locator(`[data-testid="view"][data-view="${view}"]`)).toBeVisible();
    await expect(page.locator(`[data-testid="nav"][data-view="${view}"]`)).toHaveAttribute('aria-current', 'page');
  }
  // Back goes to the previous view.
  await page.goBack();
  await expect(page.locator('[data-testid="view"][data-view="models"]')).toBeVisible();
  expect(problems).toEqual([]);
});

test('an unknown view shows a not-found view with the way back', async ({ page }) => {
  const problems = watchConsole(page);
  await page.goto('/#/no-such-view');
  await expect(page.getByTestId('not-found')).toContainText('no-such-view');
  await expect(page.locator('[data-testid="nav"][aria-current="page"]')).toHaveCount(0);
  // The header still works on the not-found view.
  await expect(page.getByTestId('next-step')).toBeVisible();
  await page.getByTestId('not-found-home').click();
  await expect(page.locator('[data-testid="view"][data-view="documents"]')).toBeVisible();
  await expect(page.locator('[data-testid="nav"][data-view="documents"]')).toHaveAttribute('aria-current', 'page');
  expect(problems).toEqual([]);
});

test('from a blank page the next step is always shown, and says why a later step cannot run yet', async ({ page }) => {
  test.skip(!existsSync(fixtureDir), `stories260K fixture not found at ${fixtureDir}`);
  await page.goto('/');
  const next = page.getByTestId('next-step');
  await expect(next).toHaveAttribute('data-step', 'add-document');
  await expect(page.getByTestId('next-step-why')).toHaveText('No document yet.');
  await expect(page.getByTestId('header-engine')).toHaveAttribute('data-state', 'idle');
  await expect(page.getByTestId('header-engine')).toContainText('none loaded');
  await expect(page.getByTestId('header-predictor')).toContainText('not set');

  await addPastedDoc(page, 'Kite', 'Lily had a red kite. She ran in the park and the kite went up high.');
  await expect(next).toHaveAttribute('data-step', 'load-engine');
  await expect(page.getByTestId('next-step-why')).toHaveText('No engine loaded.');
  // The run step, on its own view, says the same.
  await page.getByTestId('next-step-go').click();
  await expect(page.locator('[data-testid="nav"][data-view="compress"]')).toHaveAttribute('aria-current', 'page');
  await expect(page.getByTestId('run-docs')).toContainText('Load a compressor model first');
  await expect(page.getByTestId('run-start')).toBeDisabled();

  await loadStories(page);
  await expect(page.getByTestId('header-engine')).toHaveAttribute('data-device', 'cpu');
  await expect(page.getByTestId('header-engine')).toContainText('stories260K');
  await expect(next).toHaveAttribute('data-step', 'question');
  await page.getByTestId('question').fill('Who had a kite?');
  await expect(next).toHaveAttribute('data-step', 'run');
  await page.getByTestId('run-start').click();
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(next).toHaveAttribute('data-step', 'predictor');
  await expect(page.getByTestId('next-step-why')).toHaveText('No predictor set.');

  await page.getByTestId('next-step-go').click();
  await page.getByTestId('predictor-base-url').fill(FAKE_OPENAI_BASE_URL);
  await page.getByTestId('predictor-model').fill('gpt-4o-mini');
  await expect(page.getByTestId('header-predictor')).toHaveAttribute('data-host', new URL(FAKE_OPENAI_BASE_URL).host);
  await expect(next).toHaveAttribute('data-step', 'send');
  await page.getByTestId('send').click();
  await expect(page.getByTestId('answer')).toHaveAttribute('data-state', 'done', { timeout: 20_000 });
  await expect(next).toHaveAttribute('data-step', 'done');
});

test('leaving the view never cancels a run; the header shows it with a link back', async ({ page }) => {
  test.skip(!existsSync(fixtureDir), `stories260K fixture not found at ${fixtureDir}`);
  const problems = watchConsole(page);
  await page.goto('/');
  await loadStories(page);
  await addPastedDoc(page, 'Kite', 'Lily had a red kite. She ran in the park and the kite went up high.');
  await addPastedDoc(page, 'Dog', 'Tom saw a big dog near the tree. The dog was sad because it lost its ball.');
  await go(page, 'compress');
  await page.getByTestId('run-settings').getByText('Compression settings').click();
  await page.getByTestId('run-samples').fill('4');
  await page.getByTestId('run-max-tokens').fill('300');
  await page.getByTestId('run-start').click();
  await expect(page.getByTestId('header-run')).toBeVisible();

  // Away from the run while it works: its view is gone, the header still shows it.
  await go(page, 'runs');
  await expect(page.getByTestId('run-item').first()).toHaveAttribute('data-status', 'running');
  await go(page, 'documents');
  await expect(page.getByTestId('run-state')).toHaveCount(0);
  await expect(page.getByTestId('header-run')).toBeVisible();
  await page.getByTestId('header-run').getByRole('link').click();
  await expect(page.locator('[data-testid="nav"][data-view="compress"]')).toHaveAttribute('aria-current', 'page');
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
  await expect(page.getByTestId('header-run')).toHaveCount(0);
  await expect(page.getByTestId('compression')).toHaveCount(8);
  expect(Number.isFinite(Number(await page.getByTestId('mi-bits').getAttribute('data-value')))).toBe(true);
  expect(problems).toEqual([]);
});

test('a panel that fails to render is contained: a plain message and a way out, the rest of the app works', async ({ page }) => {
  const problems = watchConsole(page, [/failed to render/]);
  await page.goto('/');
  await expect(page.getByTestId('library-panel')).toHaveAttribute('data-ready', 'true');
  // A damaged document record (no size or token estimate), as another version or a bad tool could leave it.
  await putAppRecords(page, {
    documents: [{ id: 'damaged', title: 'Damaged', kind: 'text', mime: '', hash: 'f'.repeat(64), createdAt: Date.now() }],
    docTexts: [{ id: 'damaged', text: 'x' }],
  });
  await page.reload();
  const failed = page.getByTestId('panel-error');
  await expect(failed).toHaveAttribute('data-panel', 'Library');
  await expect(failed).toContainText('Library could not be shown');
  await expect(failed).toHaveAttribute('data-error-name', 'TypeError');
  // The header, the nav, the other panels of the view and the other views still work.
  await expect(page.getByTestId('samples-load')).toBeEnabled();
  await go(page, 'settings');
  await expect(page.getByTestId('demo-panel')).toBeVisible();
  await expect(page.getByTestId('panel-error')).toHaveCount(0);
  await go(page, 'documents');
  await expect(page.getByTestId('panel-error')).toHaveCount(1);
  expect(problems).toEqual([]);
});

test.describe('a view loaded on first visit', () => {
  // Without the service worker, so the request for the view's chunk reaches the network (and
  // this route), as on a first visit before anything was stored.
  test.use({ serviceWorkers: 'block' });

  test('whose code cannot be fetched says so in plain words, and the app goes on', async ({ page }) => {
    await page.route(/\/assets\/CompareView-[\w-]+\.js$/, (route) => route.abort('internetdisconnected'));
    await page.goto('/');
    await expect(page.getByTestId('library-panel')).toHaveAttribute('data-ready', 'true');
    await go(page, 'compare');
    await expect(page.getByTestId('view-load-failed')).toContainText('The Compare view could not be loaded');
    await go(page, 'documents');
    await expect(page.getByTestId('samples-load')).toBeEnabled();
  });
});
