/**
 * Auto-send and the key follow the endpoint, in the built app under its CSP, against TWO real
 * fake predictor servers: the one playwright.config.ts starts (A) and a second one this spec
 * starts in-process (B, on FAKE_OPENAI_SECOND_PORT, or a free port). The key is entered for A;
 * after the base URL moves to B, B must receive no request carrying that key and no compression
 * until the user confirms the key for B.
 *
 * Keys are compared by fingerprint (the servers record a SHA-256 prefix, never the key).
 */
import { existsSync } from 'node:fs';
import { keyFingerprint, startFakeOpenAI, type FakeOpenAI } from './fixtures/fake-openai.mjs';
import { FAKE_OPENAI_BASE_URL, chatRequests, fetchRecordedRequests, resetFakeOpenAI } from './fixtures/fake-openai-client';
import { addPastedDoc, fixtureDir, go, loadStories } from './fixtures/page-helpers';
import { expect, test, type Page } from './fixtures/test';

const KEY_A = 'sk-e2e-origin-a-0123456789';
const KEY_B = 'sk-e2e-origin-b-9876543210';
const fpA = keyFingerprint(KEY_A);

let b: FakeOpenAI;
test.beforeAll(async () => {
  b = await startFakeOpenAI({ port: Number(process.env.FAKE_OPENAI_SECOND_PORT ?? 0) });
});
test.afterAll(async () => {
  await b?.close();
});
test.beforeEach(async () => {
  await resetFakeOpenAI();
  b.reset();
});

async function setField(page: Page, testId: string, value: string) {
  await page.getByTestId(testId).fill(value);
  await page.getByTestId(testId).press('Tab');
}

async function configureA(page: Page) {
  await setField(page, 'predictor-base-url', FAKE_OPENAI_BASE_URL);
  await setField(page, 'predictor-key', KEY_A);
  await setField(page, 'predictor-model', 'gpt-4o-mini');
}

/** Run the compressor (Compress view) and come back to the Send view. */
async function runOnce(page: Page) {
  await go(page, 'compress');
  await page.getByTestId('run-start').click();
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'running');
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'done', { timeout: 45_000 });
  await go(page, 'send');
}

test.describe('with the compressor', () => {
  test.skip(!existsSync(fixtureDir), `stories260K fixture not found at ${fixtureDir}`);

  test('auto-send sends a finished run once; after a switch of endpoint the second server receives nothing', async ({ page }) => {
    await page.goto('/');
    await loadStories(page);
    await addPastedDoc(page, 'Tim', 'Once upon a time there was a dog named Tim. Tim liked his red ball. One day the ball was lost.');
    await go(page, 'compress');
    await page.getByTestId('question').fill('What did Tim like?');
    // Three compressions, each saved during the run: the old auto-send fired for every one.
    await page.getByTestId('run-settings').getByText('Compression settings').click();
    await page.getByTestId('run-samples').fill('3');
    await go(page, 'send');
    await configureA(page);
    await page.getByTestId('predictor-test').click();
    await expect(page.getByTestId('predictor-connection')).toHaveAttribute('data-state', 'ok');

    // One run with auto-send on: several compressions are saved during it, one send at the end.
    // The run happens on the Compress view, where the send panel is not even mounted.
    await page.getByTestId('auto-send').check();
    await runOnce(page);
    await expect(page.getByTestId('answer')).toHaveAttribute('data-state', 'done', { timeout: 20_000 });
    await expect(page.getByTestId('exchange')).toHaveCount(1);
    const chatsA = chatRequests(await fetchRecordedRequests());
    expect(chatsA).toHaveLength(1);
    expect(chatsA[0].auth.sha256).toBe(fpA);
    await go(page, 'compress');
    const compressions = await page.getByTestId('compression').allTextContents();
    expect(compressions.length).toBe(3);
    await go(page, 'send');

    // Type B's address over A's, character by character as a person would.
    await page.getByTestId('predictor-base-url').fill('');
    await page.getByTestId('predictor-base-url').pressSequentially(b.baseUrl);
    await page.getByTestId('predictor-base-url').press('Tab');
    await expect(page.getByTestId('auto-send')).not.toBeChecked();
    await expect(page.getByTestId('auto-send-notice')).toContainText('Auto-send was switched off because the base URL changed');
    await expect(page.getByTestId('predictor-key-origin')).toHaveAttribute('data-key-origin', new URL(FAKE_OPENAI_BASE_URL).origin);

    // The connection test and the send are both held back, by name.
    await page.getByTestId('predictor-test').click();
    await expect(page.getByTestId('predictor-connection')).toHaveAttribute('data-state', 'error');
    await expect(page.getByTestId('predictor-connection')).toContainText('KeyNotConfirmedError');
    await expect(page.getByTestId('send')).toBeDisabled();
    await expect(page.getByTestId('send-blocked')).toHaveAttribute('data-error-name', 'KeyNotConfirmedError');

    // Auto-send switched on again for B and a second run: still nothing may go to B.
    await page.getByTestId('auto-send').check();
    await runOnce(page);
    await expect(page.getByTestId('send-blocked')).toBeVisible();
    // A preset change switches auto-send off too, and says so.
    await page.getByTestId('predictor-preset').selectOption('openai');
    await expect(page.getByTestId('auto-send')).not.toBeChecked();
    await expect(page.getByTestId('auto-send-notice')).toContainText('provider preset changed');

    expect(b.requests()).toHaveLength(0);
    expect(chatRequests(await fetchRecordedRequests())).toHaveLength(1); // A got nothing more either

    // Back to B with a key entered for B: B now gets B's key, never A's, and no compression.
    await setField(page, 'predictor-base-url', b.baseUrl);
    await setField(page, 'predictor-key', KEY_B);
    await expect(page.getByTestId('predictor-key-origin')).toHaveCount(0);
    await page.getByTestId('predictor-test').click();
    await expect(page.getByTestId('predictor-connection')).toHaveAttribute('data-state', 'ok');
    const seenByB = b.requests();
    expect(seenByB.length).toBeGreaterThan(0);
    expect(seenByB.some((r) => r.auth.sha256 === fpA)).toBe(false);
    expect(seenByB.every((r) => r.auth.sha256 === keyFingerprint(KEY_B) || r.method === 'OPTIONS')).toBe(true);
    expect(chatRequests(seenByB)).toHaveLength(0);
    for (const r of seenByB) for (const c of compressions) if (c.trim().length > 8) expect(r.body).not.toContain(c.trim());
  });
});

test('the connection test never carries the key to a new origin until it is confirmed there', async ({ page }) => {
  await page.goto('/');
  await go(page, 'send');
  await configureA(page);
  await page.getByTestId('predictor-test').click();
  await expect(page.getByTestId('predictor-connection')).toHaveAttribute('data-state', 'ok');
  await setField(page, 'predictor-base-url', b.baseUrl);
  await page.getByTestId('predictor-test').click();
  await expect(page.getByTestId('predictor-connection')).toContainText('KeyNotConfirmedError');
  expect(b.requests()).toHaveLength(0);

  // The explicit confirmation is what lets the key go to B.
  await page.getByTestId('predictor-key-confirm').click();
  await expect(page.getByTestId('predictor-key-origin')).toHaveCount(0);
  await page.getByTestId('predictor-test').click();
  await expect(page.getByTestId('predictor-connection')).toHaveAttribute('data-state', 'ok');
  expect(b.requests().some((r) => r.auth.sha256 === fpA)).toBe(true);
});

test('remembered keys are kept per origin, and the old single key is migrated to its origin', async ({ page }) => {
  const originA = new URL(FAKE_OPENAI_BASE_URL).origin;
  await page.goto('/');
  // What an older version stored: one remembered key beside its base URL.
  await page.evaluate(
    ([baseUrl, key]) =>
      localStorage.setItem('precis.predictor.v1', JSON.stringify({ baseUrl, model: 'fake-gpt', presetId: 'custom', rememberKey: true, apiKey: key, prices: {} })),
    [FAKE_OPENAI_BASE_URL, KEY_A],
  );
  await page.reload();
  await go(page, 'send');
  await expect(page.getByTestId('predictor-key')).toHaveValue(KEY_A);
  await expect(page.getByTestId('predictor-remember-key')).toBeChecked();

  await setField(page, 'predictor-base-url', b.baseUrl);
  await expect(page.getByTestId('predictor-key-origin')).toBeVisible();
  await setField(page, 'predictor-key', KEY_B);
  await page.reload();
  await go(page, 'send');
  // The saved endpoint is B, so B's key comes back; A's is still filed under A.
  await expect(page.getByTestId('predictor-base-url')).toHaveValue(b.baseUrl);
  await expect(page.getByTestId('predictor-key')).toHaveValue(KEY_B);
  const stored = JSON.parse((await page.evaluate(() => localStorage.getItem('precis.predictor.v1'))) ?? '{}');
  expect(stored.apiKeys).toEqual({ [originA]: KEY_A, [b.origin]: KEY_B });
  expect(stored.apiKey).toBeUndefined();
  await setField(page, 'predictor-base-url', FAKE_OPENAI_BASE_URL);
  await expect(page.getByTestId('predictor-key')).toHaveValue(KEY_A);
  await expect(page.getByTestId('predictor-key-origin')).toHaveCount(0);

  await page.getByTestId('predictor-forget-key').click();
  expect(await page.evaluate(() => localStorage.getItem('precis.predictor.v1'))).not.toMatch(/sk-e2e-origin/);
});

test('plain http to another machine is refused by name before any request (the policy blocks it)', async ({ page }) => {
  await page.goto('/');
  await go(page, 'send');
  // 10.255.255.1 is not this machine; under the built app's CSP the request could not even start.
  await setField(page, 'predictor-base-url', 'http://10.255.255.1:8000/v1');
  await setField(page, 'predictor-key', KEY_A);
  await expect(page.getByTestId('predictor-blocked')).toContainText('Content-Security-Policy');
  await page.getByTestId('predictor-test').click();
  await expect(page.getByTestId('predictor-connection')).toContainText('EndpointBlockedError');
  // No request was attempted: the CSP fixture would have recorded a connect-src violation.
});
