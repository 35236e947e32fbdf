import { expect, test } from './fixtures/test';
import { existsSync } from 'node:fs';
import { fixtureDir, go, watchConsole } from './fixtures/page-helpers';

test.skip(!existsSync(fixtureDir), `stories260K fixture not found at ${fixtureDir}`);

test('loads stories260K in the worker, streams a continuation, and stops on request', async ({ page }) => {
  const problems = watchConsole(page);
  await page.goto('/');
  await go(page, 'compress');

  const select = page.getByTestId('engine-select');
  await expect(select.locator('option[value="reference:stories260K"]')).toHaveCount(1);
  await select.selectOption('reference:stories260K');
  await page.getByTestId('engine-load').click();
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-state', 'ready');

  // Greedy continuation: deterministic, and the fixture's known text. The playground lives in
  // Models & storage; the engine loaded in Compress stays loaded.
  await go(page, 'models');
  await page.getByTestId('play-prompt').fill('Once upon a time');
  await page.getByTestId('play-temperature').fill('0');
  await page.getByTestId('play-generate').click();
  const output = page.getByTestId('play-output');
  await expect(output).toHaveAttribute('data-state', 'done');
  await expect(output).toContainText('there was a little girl named Lily');
  await expect(page.getByTestId('play-stats')).not.toHaveAttribute('data-tokens', '0');

  // A long sampled generation, stopped mid-way. The model decodes hundreds of tokens per
  // second, faster than a test can poll, so the click on Stop is made from inside the page the
  // moment the first words appear, as a quick user would.
  await page.getByTestId('play-temperature').fill('1');
  await page.getByTestId('play-max-tokens').fill('4000');
  await page.evaluate(() => {
    const out = document.querySelector('[data-testid="play-output"]')!;
    const observer = new MutationObserver(() => {
      if ((out.textContent ?? '').length > 30) {
        observer.disconnect();
        (document.querySelector('[data-testid="play-stop"]') as HTMLButtonElement).click();
      }
    });
    observer.observe(out, { childList: true, characterData: true, subtree: true });
  });
  await page.getByTestId('play-generate').click();
  await expect(output).toHaveAttribute('data-state', 'interrupted');
  const tokens = Number(await page.getByTestId('play-stats').getAttribute('data-tokens'));
  expect(tokens).toBeGreaterThan(5);
  expect(tokens).toBeLessThan(400);
  expect((await output.textContent())?.length ?? 0).toBeGreaterThan(30);

  // The engine is still usable after the interrupt.
  await page.getByTestId('play-max-tokens').fill('10');
  await page.getByTestId('play-generate').click();
  await expect(output).toHaveAttribute('data-state', 'done');

  expect(problems).toEqual([]);
});

test('a foreign checkpoint file gives a named error and the engine can still load', async ({ page }) => {
  const problems = watchConsole(page);
  await page.goto('/');
  await go(page, 'compress');
  await page.getByText('Load a llama2.c checkpoint from this device').click();
  await page.getByTestId('engine-file-checkpoint').setInputFiles({ name: 'junk.bin', mimeType: 'application/octet-stream', buffer: Buffer.from('not a model at all') });
  await page.getByTestId('engine-file-tokenizer').setInputFiles(`${fixtureDir}/tok512.bin`);
  await page.getByTestId('engine-load-files').click();
  const status = page.getByTestId('engine-status');
  await expect(status).toHaveAttribute('data-state', 'error');
  await expect(status).toContainText('CheckpointFormatError');

  await page.getByTestId('engine-file-checkpoint').setInputFiles(`${fixtureDir}/stories260K.bin`);
  await page.getByTestId('engine-load-files').click();
  await expect(status).toHaveAttribute('data-state', 'ready');
  expect(problems).toEqual([]);
});
