/**
 * The ONNX engine in Chromium: onnx:stories260K from /models/stories260K-onnx/ on WASM and on
 * WebGPU (headless Chromium's software adapter), greedy output equal to the fixture's known
 * answer, and a run's MI equal to the reference engine's on the same documents. ONNX Runtime's
 * files must come from this origin: any request elsewhere fails the test.
 */
import { chromium, expect, test, watchCsp, type Page } from './fixtures/test';
import { chromiumArgs } from '../playwright.config';
import { cpSync, createReadStream, existsSync, mkdtempSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { addPastedDoc, fixtureDir, go, loadStories, modelsDir, watchConsole } from './fixtures/page-helpers';

const onnxDir = resolve(modelsDir, 'stories260K-onnx');
test.skip(!existsSync(fixtureDir) || !existsSync(onnxDir), `stories260K and stories260K-onnx fixtures not found in ${modelsDir}`);

/** The fixture README's greedy continuation of "Once upon a time". */
const KNOWN = ', there was a little girl named Lily. She loved to play outside in the park.';

function watchForeignRequests(page: Page): string[] {
  const foreign: string[] = [];
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (!['127.0.0.1', 'localhost'].includes(url.hostname) && url.protocol !== 'data:' && url.protocol !== 'blob:') foreign.push(req.url());
  });
  return foreign;
}

async function loadOnnx(page: Page, device: 'wasm' | 'webgpu') {
  await go(page, 'compress');
  await expect(page.getByTestId('engine-select').locator('option[value="onnx:stories260K"]')).toHaveCount(1);
  if (device === 'webgpu') await expect(page.getByTestId('engine-device').locator('option[value="webgpu"]')).toHaveCount(1);
  await page.getByTestId('engine-device').selectOption(device);
  await page.getByTestId('engine-select').selectOption('onnx:stories260K');
  await page.getByTestId('engine-load').click();
  const status = page.getByTestId('engine-status');
  await expect(status).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await expect(status).toHaveAttribute('data-device', device);
  await expect(status).toContainText('onnx:stories260K is ready');
}

async function greedy(page: Page, maxTokens: number): Promise<string> {
  await go(page, 'models');
  await page.getByTestId('play-prompt').fill('Once upon a time');
  await page.getByTestId('play-temperature').fill('0');
  await page.getByTestId('play-max-tokens').fill(String(maxTokens));
  await page.getByTestId('play-generate').click();
  const output = page.getByTestId('play-output');
  await expect(output).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
  return (await output.textContent()) ?? '';
}

test('onnx:stories260K on wasm: known greedy answer, several threads when isolated, files from our origin', async ({ page }) => {
  test.setTimeout(180_000); // threads spin on a shared, loaded machine
  const problems = watchConsole(page);
  const foreign = watchForeignRequests(page);
  await page.goto('/');
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  await go(page, 'compress');
  await expect(page.getByTestId('onnx-threads')).toHaveAttribute('data-isolated', 'true');
  await loadOnnx(page, 'wasm');
  const threads = Number(await page.getByTestId('engine-status').getAttribute('data-threads'));
  expect(threads).toBeGreaterThanOrEqual(1);
  await expect(page.getByTestId('engine-status')).toContainText(`${threads} WASM thread`);
  const text = await greedy(page, 27);
  expect(text.startsWith(KNOWN)).toBe(true);
  expect(foreign).toEqual([]);
  expect(problems).toEqual([]);
});

test('onnx:stories260K on webgpu (software adapter): the known greedy answer', async ({ page }) => {
  test.setTimeout(180_000);
  const problems = watchConsole(page, [/powerPreference/i]);
  const foreign = watchForeignRequests(page);
  await page.goto('/');
  await loadOnnx(page, 'webgpu');
  const text = await greedy(page, 11); // SwiftShader: a few tokens per second
  expect(text).toBe(', there was a little girl named Lily.');
  expect(foreign).toEqual([]);
  expect(problems).toEqual([]);
});

const DOCS = [
  ['Lily and the kite', 'Lily had a red kite. She ran in the park and the kite went up high.'],
  ['Tom and the dog', 'Tom saw a big dog near the tree. The dog was sad because it lost its ball.'],
] as const;

async function runMi(page: Page): Promise<number> {
  await go(page, 'compress');
  await page.getByTestId('question').fill('Who is in the story?');
  const details = page.getByTestId('run-settings');
  if (!(await details.evaluate((el) => (el as HTMLDetailsElement).open))) await details.getByText('Compression settings').click();
  await page.getByTestId('run-samples').fill('2');
  await page.getByTestId('run-max-tokens').fill('16');
  await page.getByTestId('run-seed').fill('7');
  await page.getByTestId('run-start').click();
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
  return Number(await page.getByTestId('mi-bits').getAttribute('data-value'));
}

test("a run's MI on onnx:stories260K (wasm) equals the reference engine's within 1e-3 bits", async ({ page }) => {
  test.setTimeout(180_000);
  const problems = watchConsole(page);
  await page.goto('/');
  for (const [title, text] of DOCS) await addPastedDoc(page, title, text);
  for (const [title] of DOCS) await page.getByTestId('doc-item').filter({ hasText: title }).click();
  await loadStories(page);
  const reference = await runMi(page);
  await loadOnnx(page, 'wasm');
  const onnx = await runMi(page);
  expect(Number.isFinite(reference)).toBe(true);
  expect(Math.abs(onnx - reference)).toBeLessThan(1e-3);
  expect(problems).toEqual([]);
});

/** dist/ and /models/ served WITHOUT the COOP/COEP headers, as a plain static host would. */
async function plainServer(port: number): Promise<Server> {
  const dist = resolve(import.meta.dirname, '../dist');
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.json': 'application/json' };
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const root = path.startsWith('/models/') ? modelsDir : dist;
    const rel = path.startsWith('/models/') ? path.slice('/models/'.length) : path.slice(1) || 'index.html';
    const file = resolve(root, rel);
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream', 'Content-Length': statSync(file).size });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok));
  return server;
}

test('without cross-origin isolation the engine runs on one thread and says so', async ({ page }) => {
  test.setTimeout(120_000);
  const port = 8961;
  const server = await plainServer(port);
  try {
    const problems = watchConsole(page);
    await page.goto(`http://127.0.0.1:${port}/`);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
    await go(page, 'compress');
    await expect(page.getByTestId('onnx-threads')).toHaveAttribute('data-isolated', 'false');
    await loadOnnx(page, 'wasm');
    await expect(page.getByTestId('engine-status')).toHaveAttribute('data-threads', '1');
    await expect(page.getByTestId('engine-status')).toContainText('not cross-origin isolated');
    expect(await greedy(page, 11)).toBe(', there was a little girl named Lily.');
    expect(problems).toEqual([]);
  } finally {
    await new Promise((ok) => server.close(ok));
  }
});

test('a picked folder without tokenizer.json is refused by name; a whole folder loads', async ({ page }) => {
  test.setTimeout(120_000);
  const problems = watchConsole(page);
  await page.goto('/');
  const broken = join(mkdtempSync(join(tmpdir(), 'precis-onnx-e2e-')), 'no-tokenizer');
  cpSync(onnxDir, broken, { recursive: true, filter: (src) => !src.endsWith('tokenizer.json') && !src.endsWith('model.safetensors') });
  await go(page, 'compress');
  await page.getByText('Load an ONNX model folder from this device').click();
  await page.getByTestId('onnx-folder').setInputFiles(broken);
  await page.getByTestId('onnx-folder-load').click();
  const status = page.getByTestId('engine-status');
  await expect(status).toHaveAttribute('data-state', 'error');
  await expect(status).toContainText('ModelFormatError');
  await expect(status).toContainText('tokenizer.json');

  const whole = join(mkdtempSync(join(tmpdir(), 'precis-onnx-e2e-')), 'stories260K-onnx');
  cpSync(onnxDir, whole, { recursive: true, filter: (src) => !src.endsWith('model.safetensors') && !src.endsWith('model_quantized.onnx') });
  await page.getByTestId('onnx-folder').setInputFiles(whole);
  await page.getByTestId('onnx-folder-load').click();
  await expect(status).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await expect(status).toContainText('onnx:stories260K-onnx is ready');
  expect(await greedy(page, 11)).toBe(', there was a little girl named Lily.');
  expect(problems).toEqual([]);
});

test('without WebGPU the readiness panel offers the CPU engine; the model host is asked only after a hub model is picked', async ({}, testInfo) => {
  const executablePath = testInfo.project.use.launchOptions?.executablePath;
  const browser = await chromium.launch({ executablePath, args: chromiumArgs });
  try {
    const context = await browser.newContext({ baseURL: testInfo.project.use.baseURL });
    const violations = await watchCsp(context);
    const hostRequests: string[] = [];
    // This machine has no route to the hub: answer as an offline browser would.
    await context.route('https://huggingface.co/**', (route) => {
      hostRequests.push(route.request().url());
      return route.abort('internetdisconnected');
    });
    const page = await context.newPage();
    await page.goto('/');
    await go(page, 'models');
    await expect(page.getByTestId('webgpu-status')).toHaveAttribute('data-available', 'false');
    const offer = page.getByTestId('cpu-engine-offer');
    await expect(offer).toContainText('This browser runs models on the CPU: Qwen2.5 0.5B Instruct (q4), about 786 MB');
    await page.getByTestId('cpu-engine-use').click();
    await expect(page.locator('[data-testid="view"][data-view="compress"]')).toBeVisible();
    await expect(page.getByTestId('engine-select')).toHaveValue('onnx:onnx-community/Qwen2.5-0.5B-Instruct');
    await expect(page.getByTestId('engine-device').locator('option')).toHaveText([/wasm/]);
    const label = await page.getByTestId('engine-select').locator('option:checked').textContent();
    expect(label).toMatch(/q4 · about 786 MB \(estimate\) · memory about/);
    expect(hostRequests).toEqual([]);
    await page.getByTestId('engine-load').click();
    // The size request fails offline: the estimate stays, said as such, and nothing else is fetched.
    await expect(page.getByTestId('onnx-error')).toHaveAttribute('data-error-name', 'ModelDownloadError');
    await expect(page.getByTestId('onnx-confirm-size')).toHaveAttribute('data-estimate', 'true');
    await expect(page.getByTestId('onnx-confirm-size')).toContainText('about 786 MB (estimate)');
    expect(hostRequests).toEqual(['https://huggingface.co/onnx-community/Qwen2.5-0.5B-Instruct/resolve/main/config.json']);
    await page.getByTestId('engine-load-cancel').click();
    await expect(page.getByTestId('onnx-confirm')).toHaveCount(0);
    await expect(page.getByTestId('engine-status')).toHaveAttribute('data-state', 'idle');
    expect(violations, 'Content-Security-Policy violations').toEqual([]);
  } finally {
    await browser.close();
  }
});
