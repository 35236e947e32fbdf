/**
 * The Content-Security-Policy of the built app: the meta tag in dist/index.html, the header from
 * `vite preview`, and that the policy really blocks what it says it blocks in Chromium. Every
 * other spec runs under the same policy and fails on any violation (fixtures/test.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { cspString } from '../src/lib/csp/policy';
import { expect, test } from './fixtures/test';

const distIndex = resolve(import.meta.dirname, '../dist/index.html');

test('the built index.html carries the policy as the first element of its head', () => {
  const html = readFileSync(distIndex, 'utf8');
  const head = /<head>([\s\S]*?)<\/head>/.exec(html)?.[1] ?? '';
  const firstTag = /<[a-z][^>]*>/i.exec(head)?.[0] ?? '';
  expect(firstTag).toContain('http-equiv="Content-Security-Policy"');
  const content = /content="([^"]*)"/.exec(firstTag)?.[1]?.replaceAll('&#39;', "'");
  expect(content).toBe(cspString({ meta: true }));
  expect(content).not.toContain('frame-ancestors');
  // Nothing inline for the policy to allow.
  expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
  expect(html).not.toMatch(/<style[\s>]/i);
  expect(html).not.toMatch(/\sstyle="/i);
});

test('vite preview sends the full policy as a header, on the page and on worker scripts', async ({ request, page }) => {
  const full = cspString({ meta: false });
  expect(full).toContain("frame-ancestors 'none'");
  const index = await request.get('/');
  expect(index.headers()['content-security-policy']).toBe(full);
  await page.goto('/');
  await expect(page.locator('meta[http-equiv="Content-Security-Policy"]')).toHaveAttribute('content', cspString({ meta: true }));
  // A worker is governed by its own script's headers, not by the page's meta tag.
  const workers = readdirSync(resolve(distIndex, '../assets')).filter((f) => /worker/.test(f));
  expect(workers.length).toBeGreaterThanOrEqual(2); // the compressor worker and pdf.js's
  for (const file of workers) {
    const res = await request.get(`/assets/${file}`);
    expect(res.status()).toBe(200);
    expect(res.headers()['content-security-policy'], file).toBe(full);
  }
});

test('the policy blocks inline script, inline style, and plain-http hosts in Chromium', async ({ page, cspViolations }) => {
  await page.goto('/');
  await expect(page.getByTestId('library-panel')).toBeVisible();
  const outcome = await page.evaluate(async () => {
    const w = window as unknown as { __inlineRan?: boolean };
    const script = document.createElement('script');
    script.textContent = 'window.__inlineRan = true;';
    document.body.append(script);
    const div = document.createElement('div');
    div.innerHTML = '<span style="color: rgb(1, 2, 3)">x</span>';
    document.body.append(div);
    const colour = getComputedStyle(div.firstElementChild as Element).color;
    let fetchError = '';
    try {
      await fetch('http://example.invalid:8080/v1/models');
    } catch (err) {
      fetchError = (err as Error).name;
    }
    div.remove();
    script.remove();
    return { inlineRan: w.__inlineRan === true, colour, fetchError };
  });
  expect(outcome.inlineRan).toBe(false);
  expect(outcome.colour).not.toBe('rgb(1, 2, 3)');
  expect(outcome.fetchError).toBe('TypeError');
  await expect.poll(() => cspViolations.join('\n')).toMatch(/connect-src blocked http:\/\/example\.invalid:8080/);
  const text = cspViolations.join('\n');
  expect(text).toMatch(/script-src-elem blocked (inline|\(inline\))/);
  expect(text).toMatch(/style-src-attr blocked/);
  // These were provoked on purpose; the fixture checks that nothing else was.
  cspViolations.length = 0;
});

test('a page on another origin cannot frame the app', async ({ page, cspViolations, baseURL }) => {
  // A data: URL page is an opaque origin, so frame-ancestors 'none' refuses it.
  await page.setContent(`<iframe src="${baseURL}/" id="f"></iframe>`);
  const frame = page.frameLocator('#f');
  await expect.poll(async () => page.frames().length).toBeGreaterThan(1);
  await expect(frame.getByTestId('nav')).toHaveCount(0);
  // Chromium reports the refusal on the console of the framing page.
  await expect.poll(() => cspViolations.join('\n')).toMatch(/frame-ancestors/);
  cspViolations.length = 0;
});
