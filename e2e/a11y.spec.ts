/**
 * Accessibility and small screens: axe-core on every view (light and dark, with content on
 * screen), the whole flow from the keyboard alone, and no horizontal scrolling at 390 px.
 *
 * axe-core is injected with page.evaluate(source), which runs through the DevTools protocol and
 * is not subject to the page's Content-Security-Policy (an inline <script> tag would be refused).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { FAKE_OPENAI_BASE_URL } from './fixtures/fake-openai-client';
import { fixtureDir, go, openServerPanels, samplesToAnswer, type ViewName } from './fixtures/page-helpers';
import { expect, test } from './fixtures/test';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const VIEWS: ViewName[] = ['documents', 'compress', 'send', 'runs', 'models', 'settings'];

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** Serious and critical axe-core violations on the page as it is now. */
async function seriousViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

test('axe-core finds no serious or critical violation on any view, light or dark', async ({ page }) => {
  test.skip(!existsSync(fixtureDir), `stories260K fixture not found at ${fixtureDir}`);
  test.setTimeout(180_000);
  // A blank first screen, then every view with content.
  await page.goto('/');
  expect(await seriousViolations(page), 'blank documents view').toEqual([]);
  await samplesToAnswer(page, FAKE_OPENAI_BASE_URL);
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const view of VIEWS) {
      await go(page, view);
      // The server panels are a closed disclosure at first: check them open as well.
      if (view === 'compress') await openServerPanels(page);
      expect(await seriousViolations(page), `${view} (${scheme})`).toEqual([]);
    }
    await page.goto('/#/no-such-view');
    await expect(page.getByTestId('not-found')).toBeVisible();
    expect(await seriousViolations(page), `not-found (${scheme})`).toEqual([]);
  }
});

test('no horizontal scrolling at 390 px on any view; the nav wraps instead', async ({ page }) => {
  test.skip(!existsSync(fixtureDir), `stories260K fixture not found at ${fixtureDir}`);
  test.setTimeout(180_000);
  await page.setViewportSize({ width: 390, height: 844 });
  await samplesToAnswer(page, FAKE_OPENAI_BASE_URL);
  const overflow = () =>
    page.evaluate(() => {
      const root = document.documentElement;
      // The widest element that sticks out, to name in a failure.
      let widest = '';
      let right = root.clientWidth;
      for (const el of Array.from(document.querySelectorAll('body *'))) {
        const r = el.getBoundingClientRect();
        if (r.right > right + 0.5) {
          right = r.right;
          widest = `${el.tagName.toLowerCase()}${(el as HTMLElement).dataset.testid ? `[data-testid=${(el as HTMLElement).dataset.testid}]` : ''}.${el.className}`;
        }
      }
      return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, widest };
    });
  for (const view of VIEWS) {
    await go(page, view);
    // Open every <details> so hidden content is measured too.
    await page.evaluate(() => document.querySelectorAll('details').forEach((d) => ((d as HTMLDetailsElement).open = true)));
    const o = await overflow();
    expect(o.scrollWidth, `${view}: ${o.widest}`).toBeLessThanOrEqual(o.clientWidth);
  }
  // Demo mode's large type fits too.
  await go(page, 'settings');
  await page.getByTestId('demo-mode').check();
  for (const view of VIEWS) {
    await go(page, view);
    const o = await overflow();
    expect(o.scrollWidth, `${view} in demo mode: ${o.widest}`).toBeLessThanOrEqual(o.clientWidth);
  }
});

/** Press Tab until the element matching `selector` has the focus (it must be reachable by Tab). */
async function tabTo(page: Page, selector: string, max = 120) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
  }
  throw new Error(`${selector} was not reached with ${max} presses of Tab`);
}

test('the whole flow works from the keyboard: samples, compressor, question, run, predictor, send', async ({ page }) => {
  test.skip(!existsSync(fixtureDir), `stories260K fixture not found at ${fixtureDir}`);
  test.setTimeout(120_000);
  await page.goto('/');
  await expect(page.getByTestId('library-panel')).toHaveAttribute('data-ready', 'true');

  await tabTo(page, '[data-testid="samples-load"]');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('doc-item')).toHaveCount(4);
  // Opening another document from the keyboard: its row's button.
  await tabTo(page, '[data-testid="doc-item"]:nth-child(2) button.open-doc');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('doc-text')).toContainText('Harbourview Family Clinic');

  // Views through the nav, from the keyboard; the focus lands on the view's heading.
  await tabTo(page, '[data-testid="nav"][data-view="compress"]');
  await page.keyboard.press('Enter');
  await expect(page.locator('[data-testid="nav"][data-view="compress"]')).toHaveAttribute('aria-current', 'page');
  await expect(page.locator('#view-title')).toBeFocused();

  await tabTo(page, '[data-testid="engine-select"]');
  await expect(page.getByTestId('engine-select')).toHaveValue('reference:stories260K');
  await tabTo(page, '[data-testid="engine-load"]');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await tabTo(page, '[data-testid="question-suggestion"]');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('question')).not.toHaveValue('');
  await tabTo(page, '[data-testid="question"]');
  await page.keyboard.press('End');
  await page.keyboard.type(' Answer briefly.');
  await tabTo(page, '[data-testid="run-start"]');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  expect(Number.isFinite(Number(await page.getByTestId('mi-bits').getAttribute('data-value')))).toBe(true);

  // The next step's link leads to Send.
  await tabTo(page, '[data-testid="next-step-go"]');
  await page.keyboard.press('Enter');
  await expect(page.locator('[data-testid="nav"][data-view="send"]')).toHaveAttribute('aria-current', 'page');
  await tabTo(page, '[data-testid="predictor-base-url"]');
  await page.keyboard.type(FAKE_OPENAI_BASE_URL);
  await tabTo(page, '[data-testid="predictor-model"]');
  await page.keyboard.type('gpt-4o-mini');
  await tabTo(page, '[data-testid="send"]');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('answer')).toHaveAttribute('data-state', 'done', { timeout: 20_000 });
});
