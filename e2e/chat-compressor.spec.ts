/**
 * A generate-only compressor in real Chromium: an Ollama-like fixture server on loopback
 * (stories260K behind Ollama's /v1/chat/completions, started here on an extra port) writes, the
 * in-page reference engine (stories260K) scores. The run completes with an MI number; the raw
 * text reaches only the loopback compressor; the predictor fake receives only compressions; a
 * host that is not this device is not connected without the confirmation naming it (in the
 * panel, and again in the worker); a server whose CORS is off is explained with its own switch;
 * a written run cancels and resumes to the numbers of an uninterrupted one; with a scoring
 * server (the vLLM fixture) as scorer, both hosts are named and the raw text reaches only them.
 */
import { expect, test } from './fixtures/test';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { loadFixture } from '../cli/fixture';
import { resetFakeOpenAI } from './fixtures/fake-openai-client';
import { expectRawTextOnlyAt, sendToFakePredictor, watchRequests } from './fixtures/privacy-checks';
import { startInferenceFixture, type FixtureServer } from './fixtures/inference-server';
import { STORIES, addAndSelectDocs, cancelAfterFirstCompression, fixtureDir, go, loadStories, ownCompressorWorker, setRunSettings, openServerPanels } from './fixtures/page-helpers';

test.skip(!existsSync(fixtureDir), `stories260K fixture not found at ${fixtureDir}: the chat fixture needs the model`);

/**
 * Three ports from PRECIS_CHAT_FIXTURE_PORT; by default 160 above the fake predictor's, so
 * checkouts that move their ports apart (PROTOCOL: FAKE_OPENAI_PORT) do not collide.
 */
const base = Number(process.env.PRECIS_CHAT_FIXTURE_PORT ?? Number(process.env.FAKE_OPENAI_PORT ?? 8787) + 160);
let ollama: FixtureServer;
let lmstudio: FixtureServer;
/** An Ollama that streams slowly, so a Cancel lands mid-run. */
let slow: FixtureServer;

test.beforeAll(async () => {
  ollama = await startInferenceFixture({ kind: 'ollama', engine: loadFixture(), port: base, servedModel: 'stories260K:latest' });
  // LM Studio with "Enable CORS" off, its default.
  lmstudio = await startInferenceFixture({ kind: 'lmstudio', engine: loadFixture(), port: base + 1 });
  slow = await startInferenceFixture({ kind: 'ollama', engine: loadFixture(), port: base + 2, chunkDelayMs: 15 });
});
test.afterAll(async () => {
  await ollama?.close();
  await lmstudio?.close();
  await slow?.close();
});

test('an Ollama compressor on loopback writes, the in-page engine scores; raw text reaches only it; the predictor gets compressions', async ({ context, page, baseURL }) => {
  test.setTimeout(120_000);
  const appOrigin = new URL(baseURL ?? 'http://127.0.0.1:4173').origin;
  await resetFakeOpenAI();
  const canary = `PRECIS-CANARY-${randomBytes(6).toString('hex')}`;
  const seen = watchRequests(context);

  await page.goto('/');
  await addAndSelectDocs(page, [
    ['Beach diary', `Mia walked on the beach with her cat. She found a bottle with a note that said ${canary}.`],
    ['Kite story', 'Tom had a red kite. He flew it in the park on windy days.'],
  ]);
  await go(page, 'compress');
  await openServerPanels(page);
  // Without a scorer the panel says so.
  await expect(page.getByTestId('chat-scorer')).toHaveAttribute('data-state', 'problem');
  await loadStories(page);
  await expect(page.getByTestId('chat-scorer')).toHaveAttribute('data-state', 'ok');
  await expect(page.getByTestId('chat-scorer')).toContainText('reference:stories260K');

  // A host that is not this device: named, and Connect waits for the confirmation.
  await page.getByTestId('chat-kind').selectOption('ollama');
  await page.getByTestId('chat-model').fill('llama3.1:8b');
  await page.getByTestId('chat-base-url').fill('https://gpu-box.example:11434');
  await expect(page.getByTestId('chat-host-confirm-label')).toContainText('Raw documents will be sent to gpu-box.example:11434');
  await expect(page.getByTestId('chat-connect')).toBeDisabled();
  await page.getByTestId('chat-host-confirm').check();
  await expect(page.getByTestId('chat-connect')).toBeEnabled();
  // Plain http on the LAN is outside the app's Content-Security-Policy: explained, not tried.
  await page.getByTestId('chat-base-url').fill('http://192.168.10.20:11434');
  await expect(page.getByTestId('chat-warning')).toHaveAttribute('data-reason', 'blocked');
  await expect(page.getByTestId('chat-connect')).toBeDisabled();

  // LM Studio with CORS off: the browser refuses the answer. This page is cross-origin isolated,
  // so it cannot tell that from a server that is down (a no-cors probe is blocked by COEP too):
  // the error says both and names LM Studio's own switch.
  await page.getByTestId('chat-kind').selectOption('lmstudio');
  await page.getByTestId('chat-base-url').fill(lmstudio.url);
  await page.getByTestId('chat-model').fill('stories260K');
  await page.getByTestId('chat-connect').click();
  await expect(page.getByTestId('chat-error')).toHaveAttribute('data-name', 'ServerUnreachableError');
  await expect(page.getByTestId('chat-error')).toContainText("refused this page's origin (CORS)");
  await expect(page.getByTestId('chat-error')).toContainText('Enable CORS');
  // The request did reach it: the refusal is the browser's, on the answer.
  expect(lmstudio.requests.some((r) => r.path === '/v1/models' && r.origin !== null)).toBe(true);
  expect(lmstudio.requests.some((r) => r.body.includes(canary))).toBe(false);

  // The loopback Ollama: its models are listed, and it connects without asking.
  await page.getByTestId('chat-kind').selectOption('ollama');
  await page.getByTestId('chat-base-url').fill(ollama.url);
  await page.getByTestId('chat-model').fill('');
  await expect(page.getByTestId('chat-loopback')).toBeVisible();
  await page.getByTestId('chat-list-models').click();
  await expect(page.getByTestId('chat-model')).toHaveValue('stories260K:latest');
  await page.getByTestId('chat-connect').click();
  await expect(page.getByTestId('chat-ready')).toHaveAttribute('data-id', 'ollama:stories260K:latest');
  const host = new URL(ollama.url).host;
  await expect(page.getByTestId('header-compressor-host')).toHaveAttribute('data-host', host);
  await expect(page.getByTestId('header-compressor-host')).toHaveAttribute('data-remote', 'false');
  await expect(page.getByTestId('header-scorer')).toHaveAttribute('data-id', 'reference:stories260K');

  await setRunSettings(page, { samples: 2, maxTokens: 16, seed: 3 });
  await page.getByTestId('question').fill('What did Mia find?');
  await page.getByTestId('run-start').click();
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
  const mi = Number(await page.getByTestId('mi-bits').getAttribute('data-value'));
  expect(Number.isFinite(mi)).toBe(true);
  await expect(page.getByTestId('run-models')).toHaveAttribute('data-writer', 'ollama:stories260K:latest');
  await expect(page.getByTestId('run-models')).toHaveAttribute('data-scorer', 'reference:stories260K');

  await go(page, 'send');
  await expect(page.getByTestId('left-device-compressor')).toHaveAttribute('data-host', host);
  await expect(page.getByTestId('left-device-compressor')).toHaveAttribute('data-remote', 'false');
  await sendToFakePredictor(page, 'sk-e2e-chat-compressor', canary);

  // The raw text went to the compressor's chat endpoint, and only there.
  const chats = ollama.requests.filter((r) => r.path === '/v1/chat/completions');
  expect(chats.length).toBeGreaterThanOrEqual(2);
  expect(chats.some((r) => r.body.includes(canary))).toBe(true);
  expect(chats.every((r) => r.origin === appOrigin)).toBe(true);
  // ... and the predictor got compressions, never the canary.
  await expectRawTextOnlyAt(seen, canary, ollama.url, appOrigin, [lmstudio.url]);
});

test('a run written by a generate-only server cancels keeping what finished, and resumes to the numbers of an uninterrupted run', async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto('/');
  await addAndSelectDocs(page, STORIES);
  await loadStories(page);
  await openServerPanels(page);
  await page.getByTestId('chat-kind').selectOption('ollama');
  await page.getByTestId('chat-base-url').fill(slow.url);
  await page.getByTestId('chat-model').fill('stories260K');
  await page.getByTestId('chat-concurrency').fill('1');
  await page.getByTestId('chat-connect').click();
  await expect(page.getByTestId('chat-ready')).toHaveAttribute('data-id', 'ollama:stories260K');
  await page.getByTestId('question').fill('Who is in the story?');
  await setRunSettings(page, { samples: 2, maxTokens: 20, seed: 5 });

  await page.getByTestId('run-start').click();
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
  const uninterrupted = Number(await page.getByTestId('mi-bits').getAttribute('data-value'));
  const texts = await page.getByTestId('compression').allTextContents();
  expect(texts).toHaveLength(6);

  await cancelAfterFirstCompression(page);
  await page.getByTestId('run-start').click();
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'cancelled', { timeout: 60_000 });
  const kept = await page.getByTestId('compression').count();
  expect(kept).toBeGreaterThanOrEqual(1);
  expect(kept).toBeLessThan(6);

  await fetch(`${slow.url}/__reset`, { method: 'POST' });
  await page.getByTestId('run-resume').click();
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
  expect(Number(await page.getByTestId('mi-bits').getAttribute('data-value'))).toBe(uninterrupted);
  expect(await page.getByTestId('compression').allTextContents()).toEqual(texts);
  // Resuming asked the server only for the compressions that were missing.
  expect(slow.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(6 - kept);
  await expect(page.getByTestId('run-models')).toHaveAttribute('data-writer', 'ollama:stories260K');
});

test('the worker itself refuses a generate-only server off this device unless that very host was confirmed', async ({ context, page }) => {
  const seen = watchRequests(context);
  await page.goto('/');
  await loadStories(page);
  const call = await ownCompressorWorker(page);
  const config = { kind: 'ollama', baseURL: 'http://10.9.8.7:11434', model: 'llama3.1:8b' };
  await expect(call('connectTextCompressor', { config })).rejects.toThrow(/ServerHostNotConfirmedError: Raw documents would be sent to 10\.9\.8\.7:11434/);
  await expect(call('connectTextCompressor', { config, confirmedHost: 'gpu-box.example:11434' })).rejects.toThrow(/ServerHostNotConfirmedError/);
  expect(seen.filter((r) => r.url.includes('10.9.8.7'))).toEqual([]);
  // An estimate that names a compressor that is not connected is refused, not run by the scorer alone.
  const request = { contexts: ['a', 'b'], question: '', samplesPerContext: 1, settings: { temperature: 1, topP: 1, maxTokens: 4, seed: 0 } };
  await expect(call('estimate', request, undefined, undefined, undefined, { compressorId: 'ollama:llama3.1:8b' })).rejects.toThrow(/is not connected/);
});

test('a scoring server beside a generate-only writer: both hosts are named, raw text reaches exactly those two', async ({ context, page, baseURL }) => {
  test.setTimeout(120_000);
  const appOrigin = new URL(baseURL ?? 'http://127.0.0.1:4173').origin;
  // The fixture vLLM server started by playwright.config.ts.
  const vllm = `http://127.0.0.1:${process.env.PRECIS_SERVER_FIXTURE_PORT}`;
  const canary = `PRECIS-CANARY-${randomBytes(6).toString('hex')}`;
  const seen = watchRequests(context);
  await page.goto('/');
  await addAndSelectDocs(page, [
    ['Garden note', `Ann planted red flowers by the gate. The tag on the pot said ${canary}.`],
    ['Rain day', 'Sam and his dad jumped in puddles and laughed all the way home.'],
  ]);
  await go(page, 'compress');
  await openServerPanels(page);
  await page.getByTestId('server-base-url').fill(vllm);
  await page.getByTestId('server-model').fill('stories260K');
  await page.getByTestId('server-prompt-style').selectOption('plain');
  await page.getByTestId('server-connect').click();
  await expect(page.getByTestId('server-ready')).toBeVisible({ timeout: 30_000 });

  await page.getByTestId('chat-kind').selectOption('ollama');
  await page.getByTestId('chat-base-url').fill(ollama.url);
  await page.getByTestId('chat-model').fill('stories260K');
  await expect(page.getByTestId('chat-scorer')).toContainText('vllm:stories260K');
  await page.getByTestId('chat-connect').click();
  await expect(page.getByTestId('chat-ready')).toHaveAttribute('data-id', 'ollama:stories260K');
  await expect(page.getByTestId('header-compressor-host')).toHaveAttribute('data-host', new URL(ollama.url).host);
  await expect(page.getByTestId('header-scorer-host')).toHaveAttribute('data-host', new URL(vllm).host);
  await expect(page.getByTestId('header-scorer-host')).toHaveAttribute('data-remote', 'false');

  await setRunSettings(page, { samples: 1, maxTokens: 12, seed: 2 });
  await page.getByTestId('question').fill('What did Ann plant?');
  await page.getByTestId('run-start').click();
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
  expect(Number.isFinite(Number(await page.getByTestId('mi-bits').getAttribute('data-value')))).toBe(true);
  await expect(page.getByTestId('run-models')).toHaveAttribute('data-scorer', 'vllm:stories260K');

  await go(page, 'send');
  await expect(page.getByTestId('left-device-compressor')).toHaveAttribute('data-host', new URL(ollama.url).host);
  await expect(page.getByTestId('left-device-scorer')).toHaveAttribute('data-host', new URL(vllm).host);
  // The writer got the raw text to write from, the scoring server to score under it; nothing else did.
  const carrying = new Set(seen.filter((s) => s.url.includes(canary) || s.body.includes(canary)).map((s) => new URL(s.url).origin));
  expect([...carrying].sort()).toEqual([ollama.url, vllm].sort());
  const origins = new Set(seen.map((s) => new URL(s.url).origin).filter((o) => o.startsWith('http')));
  expect([...origins].filter((o) => ![appOrigin, ollama.url, vllm].includes(o))).toEqual([]);
});
