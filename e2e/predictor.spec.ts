/**
 * The cloud predictor in a real browser against the fake OpenAI-compatible server (started by
 * playwright.config.ts on 127.0.0.1:8787): settings, payload preview, streamed answer, named
 * errors, and the key's persistence rules.
 *
 * Two ways to reach a send panel with compressions:
 * - the app ('/'): the whole flow through the stable test ids (paste a document, run the
 *   compressor with stories260K, then send);
 * - PREDICTOR_HARNESS_URL: a page with only the predictor components and fixed compressions
 *   (e2e/fixtures/predictor-harness, see its main.ts), for testing them in isolation.
 */
import { expect, test, type Page } from './fixtures/test';
import {
  FAKE_OPENAI_BASE_URL,
  chatRequests,
  fetchRecordedRequests,
  releaseHeldDrops,
  resetFakeOpenAI,
  scriptFakeOpenAI,
} from './fixtures/fake-openai-client';
import { go } from './fixtures/page-helpers';

const HARNESS = process.env.PREDICTOR_HARNESS_URL;
const KEY = 'sk-e2e-predictor-0123456789';
const RAW_MARKER = HARNESS ? 'HARNESS-RAW-DOCUMENT' : 'PREDICTOR-SPEC-RAW-7c1f';
const DOC = `${RAW_MARKER} Once upon a time there was a little dog named Tim. Tim liked to run in the park with his ball. One day the ball rolled into the pond and Tim was sad.`;

/** Open the page on the predictor's view (the Send view of the app). */
async function open(page: Page) {
  await page.goto(HARNESS ?? '/');
  if (!HARNESS) await go(page, 'send');
}

/** Bring the page to a send panel that has compressions to send. */
async function withCompressions(page: Page) {
  await open(page);
  if (HARNESS) return;
  await go(page, 'compress');
  await expect(page.getByTestId('engine-select')).toBeVisible();
  await page.getByTestId('engine-select').selectOption('reference:stories260K');
  await page.getByTestId('engine-load').click();
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await go(page, 'documents');
  await page.getByTestId('doc-paste').fill(DOC);
  await page.getByTestId('doc-add').click();
  await page.getByTestId('doc-item').first().click();
  await go(page, 'compress');
  await page.getByTestId('question').fill('What did Tim like?');
  await page.getByTestId('run-start').click();
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'done', { timeout: 45_000 });
  await expect(page.getByTestId('compression').first()).toBeVisible();
  await go(page, 'send');
}

async function configure(page: Page, opts: { key?: string; model?: string } = {}) {
  await page.getByTestId('predictor-base-url').fill(FAKE_OPENAI_BASE_URL);
  await page.getByTestId('predictor-base-url').press('Tab');
  await page.getByTestId('predictor-key').fill(opts.key ?? KEY);
  await page.getByTestId('predictor-key').press('Tab');
  await page.getByTestId('predictor-model').fill(opts.model ?? 'gpt-4o-mini');
  await page.getByTestId('predictor-model').press('Tab');
}

const answer = (page: Page) => page.getByTestId('answer');
const errorBox = (page: Page) => page.getByTestId('predictor-error');

test.beforeEach(async () => {
  await resetFakeOpenAI();
});

test('presets fill the endpoint, and the connection test lists models', async ({ page }) => {
  await open(page);
  await page.getByTestId('predictor-preset').selectOption('ollama');
  await expect(page.getByTestId('predictor-base-url')).toHaveValue('http://localhost:11434/v1');
  await page.getByTestId('predictor-preset').selectOption('groq');
  await expect(page.getByTestId('predictor-base-url')).toHaveValue('https://api.groq.com/openai/v1');
  await configure(page);
  await expect(page.getByTestId('predictor-key')).toHaveAttribute('type', 'password');
  await page.getByTestId('predictor-test').click();
  await expect(page.getByTestId('predictor-connection')).toHaveAttribute('data-state', 'ok');
  await expect(page.getByTestId('predictor-model-pick').locator('option', { hasText: 'fake-gpt' })).toHaveCount(1);
  const reqs = await fetchRecordedRequests();
  expect(reqs.some((r) => r.method === 'GET' && r.path === '/v1/models' && r.auth.present)).toBe(true);
});

test('a wrong key fails the connection test by name', async ({ page }) => {
  await open(page);
  await configure(page, { key: 'sk-bad-e2e-000000' });
  await page.getByTestId('predictor-test').click();
  await expect(page.getByTestId('predictor-connection')).toHaveAttribute('data-state', 'error');
  await expect(page.getByTestId('predictor-connection')).toContainText('InvalidApiKeyError');
  await expect(page.getByTestId('predictor-connection')).not.toContainText('sk-bad-e2e-000000');
});

test('shows the exact payload, host and cost, then streams the answer', async ({ page }) => {
  await withCompressions(page);
  await configure(page);
  const preview = page.getByTestId('payload-preview');
  await expect(preview).toContainText('[system]');
  await expect(preview).toContainText('Question:');
  await expect(preview).not.toContainText(RAW_MARKER);
  await expect(page.getByTestId('payload-host')).toHaveText(new URL(FAKE_OPENAI_BASE_URL).host);
  await expect(page.getByTestId('payload-tokens')).toHaveAttribute('data-value', /^[1-9]\d*$/);
  await expect(page.getByTestId('saved-tokens')).toHaveAttribute('data-value', /^[1-9]\d*$/);
  await expect(page.getByTestId('payload-cost-usd')).toHaveAttribute('data-value', /\d/);
  const previewText = (await preview.textContent()) ?? '';

  await scriptFakeOpenAI([{ kind: 'slow', delayMs: 120 }]);
  await page.getByTestId('send').click();
  await expect(answer(page)).toHaveAttribute('data-state', 'streaming');
  await expect(answer(page)).toHaveAttribute('data-state', 'done', { timeout: 20_000 });
  await expect(answer(page)).toContainText(/I received \d+ compression note/);
  await expect(answer(page)).toHaveAttribute('data-partial', 'false');
  await expect(page.getByTestId('exchange').first()).toHaveAttribute('data-status', 'done');

  const chats = chatRequests(await fetchRecordedRequests());
  expect(chats).toHaveLength(1);
  const sent = chats[0].json!;
  expect(sent.stream).toBe(true);
  // What was shown is what was sent.
  expect(sent.messages!.map((m) => `[${m.role}]\n${m.content}`).join('\n\n')).toBe(previewText);
  expect(chats[0].body).not.toContain(RAW_MARKER);
  expect(chats[0].auth).toMatchObject({ present: true, prefix: KEY.slice(0, 6) });
});

test('401 is named and nothing is retried', async ({ page }) => {
  await withCompressions(page);
  await configure(page);
  await scriptFakeOpenAI([{ kind: '401' }]);
  await page.getByTestId('send').click();
  await expect(answer(page)).toHaveAttribute('data-state', 'error');
  await expect(errorBox(page)).toHaveAttribute('data-error-name', 'InvalidApiKeyError');
  await expect(errorBox(page)).not.toContainText(KEY);
  expect(chatRequests(await fetchRecordedRequests())).toHaveLength(1);
});

test('404 names the unknown model', async ({ page }) => {
  await withCompressions(page);
  await configure(page, { model: 'missing-model' });
  await page.getByTestId('send').click();
  await expect(errorBox(page)).toHaveAttribute('data-error-name', 'ModelNotFoundError');
  await expect(errorBox(page)).toContainText('missing-model');
});

test('429 waits for retry-after, says so, then answers', async ({ page }) => {
  await withCompressions(page);
  await configure(page);
  await scriptFakeOpenAI([{ kind: '429', retryAfter: 2 }]);
  await page.getByTestId('send').click();
  await expect(page.getByTestId('send-retry')).toContainText(/retrying in \d s/);
  await expect(answer(page)).toHaveAttribute('data-state', 'done', { timeout: 20_000 });
  const chats = chatRequests(await fetchRecordedRequests());
  expect(chats).toHaveLength(2);
  expect(Date.parse(chats[1].time) - Date.parse(chats[0].time)).toBeGreaterThanOrEqual(1900);
});

test('500 is retried, then answers', async ({ page }) => {
  await withCompressions(page);
  await configure(page);
  await scriptFakeOpenAI([{ kind: '500' }]);
  await page.getByTestId('send').click();
  await expect(answer(page)).toHaveAttribute('data-state', 'done', { timeout: 20_000 });
  expect(chatRequests(await fetchRecordedRequests())).toHaveLength(2);
});

test('a dropped stream keeps the partial answer and marks it', async ({ page }) => {
  await withCompressions(page);
  await configure(page);
  // The cut waits until the first chunks are on screen: a reset that lands before the page has
  // read them makes Chromium discard them, which is not what this test is about.
  await scriptFakeOpenAI([{ kind: 'drop', afterChunks: 4, hold: true }]);
  await page.getByTestId('send').click();
  await expect(answer(page)).toContainText('Fake answer');
  await expect.poll(() => releaseHeldDrops()).toBe(1);
  await expect(answer(page)).toHaveAttribute('data-state', 'error');
  await expect(answer(page)).toHaveAttribute('data-partial', 'true');
  await expect(answer(page)).toContainText('Fake answer');
  await expect(page.getByTestId('answer-partial')).toBeVisible();
  await expect(errorBox(page)).toHaveAttribute('data-error-name', 'StreamDroppedError');
  await expect(page.getByTestId('exchange').first()).toHaveAttribute('data-partial', 'true');
});

test('an endpoint without CORS is explained', async ({ page }) => {
  await withCompressions(page);
  await configure(page);
  await scriptFakeOpenAI([], { cors: false });
  await page.getByTestId('send').click();
  await expect(errorBox(page)).toHaveAttribute('data-error-name', 'NetworkError');
  await expect(errorBox(page)).toContainText('Access-Control-Allow-Origin');
});

test('cancel stops the stream and keeps what arrived', async ({ page }) => {
  await withCompressions(page);
  await configure(page);
  await scriptFakeOpenAI([{ kind: 'slow', delayMs: 400 }]);
  await page.getByTestId('send').click();
  await expect(answer(page)).toContainText('Fake');
  await page.getByTestId('send-cancel').click();
  await expect(answer(page)).toHaveAttribute('data-outcome', 'cancelled');
  await expect(answer(page)).not.toHaveAttribute('data-state', 'streaming');
});

test('the key is forgotten on reload unless the user opts in', async ({ page }) => {
  await open(page);
  await configure(page);
  await page.reload();
  await expect(page.getByTestId('predictor-base-url')).toHaveValue(FAKE_OPENAI_BASE_URL);
  await expect(page.getByTestId('predictor-key')).toHaveValue('');
  const stored = await page.evaluate(() => JSON.stringify(localStorage));
  expect(stored).not.toContain(KEY);

  await page.getByTestId('predictor-key').fill(KEY);
  await page.getByTestId('predictor-remember-key').check();
  await page.reload();
  await expect(page.getByTestId('predictor-key')).toHaveValue(KEY);

  await page.getByTestId('predictor-forget-key').click();
  await expect(page.getByTestId('predictor-key')).toHaveValue('');
  expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toContain(KEY);
  await page.reload();
  await expect(page.getByTestId('predictor-key')).toHaveValue('');
});
