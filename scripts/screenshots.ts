/**
 * Takes the README's screenshots of each view into docs/screenshots/ (PNG):
 * every view at 1,280 × 800 in the light scheme with a finished run and an answer on screen, the
 * Compress view in the dark scheme, and the first screen at 390 px wide.
 *
 *   npm run build && npm run screenshots
 */
import { expect, test, type Page } from '@playwright/test';
import { resolve } from 'node:path';
import { FAKE_OPENAI_BASE_URL } from '../e2e/fixtures/fake-openai-client';
import { go, samplesToAnswer, type ViewName } from '../e2e/fixtures/page-helpers';

const out = (name: string) => resolve(import.meta.dirname, '../docs/screenshots', `${name}.png`);
const shot = (page: Page, name: string) => page.screenshot({ path: out(name) });

test('screenshots of each view', async ({ page }) => {
  test.setTimeout(180_000);
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto('/');
  await expect(page.getByTestId('library-panel')).toHaveAttribute('data-ready', 'true');
  await shot(page, 'first-screen');

  await samplesToAnswer(page, FAKE_OPENAI_BASE_URL);

  const views: ViewName[] = ['documents', 'compress', 'send', 'runs', 'models', 'settings'];
  for (const view of views) {
    await go(page, view);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, view);
  }
  await go(page, 'send');
  await page.getByTestId('answer').scrollIntoViewIfNeeded();
  await shot(page, 'send-answer');
  await go(page, 'compress');
  await page.getByTestId('mi-bits').scrollIntoViewIfNeeded();
  await shot(page, 'compress-results');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, 'compress-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  await page.setViewportSize({ width: 390, height: 844 });
  await go(page, 'documents');
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, 'documents-390px');
});
