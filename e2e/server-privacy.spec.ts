/**
 * A server compressor on this device: raw document text reaches only it, and the predictor
 * still gets only compressions. The fixture vLLM server (stories260K behind vLLM's wire format,
 * started by playwright.config.ts on PRECIS_SERVER_FIXTURE_PORT) records every request it gets.
 * A non-loopback address is not connected without the confirmation that names its host. A
 * minimal server (no list requests, no echo) is found out by the capability check in the
 * browser too, and the panel says how it scores.
 */
import { expect, test } from './fixtures/test';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resetFakeOpenAI } from './fixtures/fake-openai-client';
import { expectRawTextOnlyAt, sendToFakePredictor, watchRequests } from './fixtures/privacy-checks';
import { STORIES, addAndSelectDocs, addPastedDoc, fixtureDir, go, openServerPanels, setRunSettings } from './fixtures/page-helpers';
import { startInferenceFixture } from './fixtures/inference-server';
import { loadFixture } from '../cli/fixture';

test.skip(!existsSync(fixtureDir), `stories260K fixture not found at ${fixtureDir}: the server fixture needs the model`);

const SERVER = `http://127.0.0.1:${process.env.PRECIS_SERVER_FIXTURE_PORT}`;

test('a loopback server compressor gets the raw text; nothing else does; the predictor gets compressions', async ({ context, page, baseURL }) => {
  test.setTimeout(120_000);
  const appOrigin = new URL(baseURL ?? 'http://127.0.0.1:4173').origin;
  await fetch(`${SERVER}/__reset`, { method: 'POST' });
  await resetFakeOpenAI();
  const canary = `PRECIS-CANARY-${randomBytes(6).toString('hex')}`;
  const seen = watchRequests(context);

  await page.goto('/');
  await addPastedDoc(page, 'Beach diary', `Mia walked on the beach with her cat. She found a bottle with a note that said ${canary}.`);
  await addPastedDoc(page, 'Kite story', 'Tom had a red kite. He flew it in the park on windy days.');

  await go(page, 'compress');
  await openServerPanels(page);
  // Plain http on the LAN is outside the app's Content-Security-Policy: explained, not tried.
  await page.getByTestId('server-model').fill('stories260K');
  await page.getByTestId('server-base-url').fill('http://192.168.10.20:8000');
  await expect(page.getByTestId('server-warning')).toHaveAttribute('data-reason', 'blocked');
  await expect(page.getByTestId('server-connect')).toBeDisabled();
  // A host that is not this device needs the confirmation that names it before Connect.
  await page.getByTestId('server-base-url').fill('https://gpu-box.example:8000');
  await expect(page.getByTestId('server-host-confirm-label')).toContainText('Raw documents will be sent to gpu-box.example:8000');
  await expect(page.getByTestId('server-connect')).toBeDisabled();
  await page.getByTestId('server-host-confirm').check();
  await expect(page.getByTestId('server-connect')).toBeEnabled();

  await page.getByTestId('server-base-url').fill(SERVER);
  await page.getByTestId('server-prompt-style').selectOption('plain');
  await expect(page.getByTestId('server-loopback')).toBeVisible();
  await page.getByTestId('server-connect').click();
  await expect(page.getByTestId('server-ready')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('header-compressor-host')).toHaveAttribute('data-remote', 'false');

  await page.getByTestId('question').fill('What did Mia find?');
  await page.getByTestId('run-start').click();
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
  const mi = Number(await page.getByTestId('mi-bits').getAttribute('data-value'));
  expect(Number.isFinite(mi)).toBe(true);

  await go(page, 'send');
  await expect(page.getByTestId('left-device-compressor')).toHaveAttribute('data-remote', 'false');
  await sendToFakePredictor(page, 'sk-e2e-server-privacy', canary);

  // The raw text went to the compressor server (its /tokenize), and only there.
  const serverRecords = (await (await fetch(`${SERVER}/__requests`)).json()) as { path: string; body: string }[];
  expect(serverRecords.some((r) => r.path === '/tokenize' && r.body.includes(canary))).toBe(true);
  // ... and the predictor got compressions, never the canary.
  await expectRawTextOnlyAt(seen, canary, SERVER, appOrigin);
});

test('a minimal server (one sequence per request, no echo) is found out on connect, said in the panel, and a run completes', async ({ page }) => {
  test.setTimeout(120_000);
  // Its own port, 170 above the fake predictor's (the chat spec takes 160-162).
  const port = Number(process.env.FAKE_OPENAI_PORT ?? 8787) + 170;
  const minimal = await startInferenceFixture({ kind: 'vllm', engine: loadFixture(), port, singleSequenceOnly: true, noEcho: true });
  try {
    await page.goto('/');
    await addAndSelectDocs(page, STORIES.slice(0, 2));
    await go(page, 'compress');
    await openServerPanels(page);
    await page.getByTestId('server-model').fill('stories260K');
    await page.getByTestId('server-base-url').fill(minimal.url);
    await page.getByTestId('server-prompt-style').selectOption('plain');
    await page.getByTestId('server-connect').click();
    const ready = page.getByTestId('server-ready');
    await expect(ready).toBeVisible({ timeout: 30_000 });
    await expect(ready).toHaveAttribute('data-sequences-per-request', '1');
    await expect(ready).toContainText('scores with prompt_logprobs (it refused echo); one sequence per request');
    const afterConnect = minimal.requests.length;
    await setRunSettings(page, { samples: 1, maxTokens: 6 });
    await page.getByTestId('question').fill('Who is in the story?');
    await page.getByTestId('run-start').click();
    await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
    // After connect, every scoring request carried one sequence, as prompt_logprobs.
    const scoring = minimal.requests
      .slice(afterConnect)
      .filter((r) => r.method === 'POST' && r.path === '/v1/completions')
      .map((r) => JSON.parse(r.body) as Record<string, unknown>)
      .filter((b) => b.prompt_logprobs !== undefined);
    expect(scoring.length).toBeGreaterThan(0);
    for (const b of scoring) expect(Array.isArray((b.prompt as unknown[])[0])).toBe(false);
  } finally {
    await minimal.close();
  }
});
