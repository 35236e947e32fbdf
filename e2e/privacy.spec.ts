/**
 * The privacy promise, end to end: raw document text never leaves the device; only the question
 * and the compressions reach the predictor.
 *
 * A document holding a unique canary string is imported as a file through the real UI (real
 * Chromium, real IndexedDB, the built app from `vite preview`), compressed by stories260K in the
 * compressor worker, and the compressions are sent to the fake OpenAI-compatible server that
 * playwright.config.ts starts. Every request the browser makes (page and workers) is recorded,
 * and so is everything the fake server received; the canary must be in none of them, and no
 * request may go anywhere but the app's origin and the predictor's.
 *
 * How worker traffic is seen (Playwright 1.65, Chromium): requests made by the dedicated
 * compressor worker (its `fetch` of the model files) are reported by `context.on('request')`
 * and by `page.on('request')` alike; `Worker` objects have no request event of their own. The
 * test listens on both and proves the point on every run: the checkpoint `stories260K.bin` is
 * fetched only from inside the worker, so the recorder must have seen that request, or the test
 * fails instead of passing on a blind spot. (Checked by hand while writing this: from a throwaway
 * blob: worker, a POST carrying the canary to the fake server was caught by (a) and (c) below, and
 * a GET to http://localhost:8787 by (b).) CORS preflights are not reported as browser requests;
 * the fake server records them, and (c) covers them.
 */
import { expect, test, type Request } from './fixtures/test';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  FAKE_OPENAI_BASE_URL,
  FAKE_OPENAI_ORIGIN,
  chatRequests,
  fetchRecordedRequests,
  requestContains,
  resetFakeOpenAI,
} from './fixtures/fake-openai-client';
import { fixtureDir, go, watchConsole } from './fixtures/page-helpers';

test.skip(!existsSync(fixtureDir), `stories260K fixture not found at ${fixtureDir}: the privacy test needs the compressor model`);

const KEY = 'sk-e2e-privacy-0123456789';

interface Seen {
  url: string;
  method: string;
  resourceType: string;
  /** Which listeners reported it. */
  byContext: boolean;
  byPage: boolean;
  /** Request headers as the browser reported them, as one string. */
  headers: string;
  /** The request body as bytes (empty when there is none). */
  body: Buffer;
}

test('raw document text never leaves the browser; only compressions reach the predictor', async ({ context, page, baseURL }) => {
  test.setTimeout(120_000);
  const appOrigin = new URL(baseURL ?? 'http://127.0.0.1:4173').origin;
  const canary = `PRECIS-CANARY-${randomBytes(8).toString('hex')}`;
  const secretDoc = [
    'Once upon a time there was a little girl named Mia who lived by the sea.',
    'Every morning she walked along the beach with her old grey cat, looking for shells.',
    `One day Mia found a small green bottle with a note inside. The note said ${canary} in big letters.`,
    'Mia did not know what it meant, so she put the bottle on her shelf and kept it safe.',
  ].join(' ');
  const otherDoc =
    'Tom had a red kite. He liked to fly it in the park on windy days. One day the kite got stuck in a tall tree, and his dad helped him get it down.';

  await resetFakeOpenAI();
  const problems = watchConsole(page);

  // 1. Record every request, from both listeners, keyed by the Request object.
  const seen = new Map<Request, Seen>();
  const note = (by: 'context' | 'page') => (req: Request) => {
    let s = seen.get(req);
    if (!s) {
      s = {
        url: req.url(),
        method: req.method(),
        resourceType: req.resourceType(),
        byContext: false,
        byPage: false,
        headers: JSON.stringify(req.headers()),
        body: req.postDataBuffer() ?? Buffer.alloc(0),
      };
      seen.set(req, s);
    }
    if (by === 'context') s.byContext = true;
    else s.byPage = true;
  };
  context.on('request', note('context'));
  page.on('request', note('page'));
  const workerUrls: string[] = [];
  page.on('worker', (w) => workerUrls.push(w.url()));

  await page.goto('/');

  // 2. The canary document as a file, and an ordinary pasted document for the bank.
  await page.getByTestId('doc-file').setInputFiles({ name: 'beach-diary.txt', mimeType: 'text/plain', buffer: Buffer.from(secretDoc, 'utf8') });
  await expect(page.getByTestId('doc-item')).toHaveCount(1);
  await page.getByTestId('doc-title').fill('Kite story');
  await page.getByTestId('doc-paste').fill(otherDoc);
  await page.getByTestId('doc-add').click();
  await expect(page.getByTestId('doc-item')).toHaveCount(2);
  await expect(page.getByTestId('library-error')).toHaveCount(0);

  // Adding a document selects it; keep only the canary document selected, so the kite story
  // is a contrast context (scored locally, never sent).
  const canaryItem = page.getByTestId('doc-item').filter({ hasText: 'beach-diary' });
  const otherItem = page.getByTestId('doc-item').filter({ hasText: 'Kite story' });
  await expect(canaryItem).toHaveCount(1);
  await otherItem.getByTestId('doc-select').uncheck();
  await canaryItem.click();
  await expect(canaryItem).toHaveAttribute('data-selected', 'true');
  await expect(otherItem).toHaveAttribute('data-selected', 'false');
  await expect(page.getByTestId('doc-text')).toContainText(canary);

  // 3. Compress and measure with the reference engine.
  await go(page, 'compress');
  const select = page.getByTestId('engine-select');
  await expect(select.locator('option[value="reference:stories260K"]')).toHaveCount(1);
  await select.selectOption('reference:stories260K');
  await page.getByTestId('engine-load').click();
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });

  await page.getByTestId('question').fill('What did Mia find on the beach?');
  await page.getByTestId('run-start').click();
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  const mi = Number(await page.getByTestId('mi-bits').getAttribute('data-value'));
  expect(Number.isFinite(mi), `mi-bits data-value should be a finite number, got ${mi}`).toBe(true);
  await expect(page.getByTestId('compression').first()).toBeVisible();
  // The kite story came in as contrast; the canary document's compressions are the sendable ones.
  await expect(page.locator('[data-testid="compression-item"][data-question-doc="false"]').first()).toBeVisible();
  const questionDocCompression = page.locator('[data-testid="compression-item"][data-question-doc="true"]').first().getByTestId('compression');
  await expect(questionDocCompression).toBeVisible();
  const firstSentText = ((await questionDocCompression.textContent()) ?? '').trim();
  expect(firstSentText.length, 'the first question-document compression is empty').toBeGreaterThan(0);

  // 4. Configure the predictor, look at the preview, send.
  await go(page, 'send');
  await page.getByTestId('predictor-base-url').fill(FAKE_OPENAI_BASE_URL);
  await page.getByTestId('predictor-base-url').press('Tab');
  await page.getByTestId('predictor-key').fill(KEY);
  await page.getByTestId('predictor-key').press('Tab');
  await page.getByTestId('predictor-model').fill('gpt-4o-mini');
  await page.getByTestId('predictor-model').press('Tab');
  const preview = page.getByTestId('payload-preview');
  await expect(preview).toContainText('Question:');
  await expect(preview).not.toContainText(canary);
  await page.getByTestId('send').click();
  await expect(page.getByTestId('answer')).toHaveAttribute('data-state', 'done', { timeout: 20_000 });

  // 5. What left the browser.
  const requests = [...seen.values()];
  const describe = (s: Seen) => `${s.method} ${s.url} (${s.resourceType}${s.byContext ? ', context' : ''}${s.byPage ? ', page' : ''})`;

  // The recorder sees the worker: the checkpoint is fetched only by the compressor worker.
  expect(workerUrls.length, 'the compressor worker never started').toBeGreaterThan(0);
  const checkpoint = requests.filter((s) => new URL(s.url).pathname.endsWith('/stories260K.bin'));
  expect(checkpoint.length, `the worker's checkpoint fetch was not recorded; seen:\n${requests.map(describe).join('\n')}`).toBeGreaterThan(0);
  expect(checkpoint.every((s) => s.byContext), 'context.on(request) missed a worker request').toBe(true);

  // (a)-(d) are soft, so one failing run lists every kind of leak at once.
  // (a) The canary is in no URL, no header and no request body.
  const carrying = requests.filter((s) => s.url.includes(canary) || s.headers.includes(canary) || s.body.includes(canary));
  expect.soft(carrying.map(describe), 'requests carrying the raw document canary').toEqual([]);

  // (b) Only the app's origin and the predictor's. data: and blob: URLs are not network traffic.
  const allowed = new Set([appOrigin, FAKE_OPENAI_ORIGIN]);
  const elsewhere = requests.filter((s) => {
    const u = new URL(s.url);
    if (u.protocol === 'data:' || u.protocol === 'blob:') return false;
    return !allowed.has(u.origin);
  });
  expect.soft(elsewhere.map(describe), `requests to origins other than ${[...allowed].join(' and ')}`).toEqual([]);
  const toPredictor = requests.filter((s) => s.url.startsWith(FAKE_OPENAI_ORIGIN));
  expect.soft(toPredictor.length, 'the browser recorded no request to the predictor').toBeGreaterThan(0);

  // (c) What the fake predictor received: no canary anywhere, and a chat completion.
  const received = await fetchRecordedRequests();
  expect.soft(
    received.filter((r) => requestContains(r, canary)).map((r) => `${r.method} ${r.path}`),
    'predictor requests carrying the canary',
  ).toEqual([]);
  const chats = chatRequests(received);
  expect.soft(chats.length, 'the predictor recorded no chat completion').toBeGreaterThan(0);

  // (d) The compressions that were sent: the canary is in none of the messages, and the
  // compression shown in the page is what the predictor got.
  for (const chat of chats) {
    const contents = (chat.json?.messages ?? []).map((m) => String(m.content));
    expect.soft(contents.filter((c) => c.includes(canary)), 'messages sent with the canary').toEqual([]);
  }
  const sentText = chats.map((c) => (c.json?.messages ?? []).map((m) => String(m.content)).join('\n')).join('\n');
  expect.soft(sentText, 'the predictor did not receive the compression shown in the page').toContain(firstSentText);
  expect.soft(sentText).toContain('What did Mia find on the beach?');

  expect(problems).toEqual([]);
});
