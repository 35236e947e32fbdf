/**
 * Two tabs of the app in one browser profile, against Chromium's real IndexedDB and Web Locks:
 * both work on the same library, a run driven by one tab is not marked interrupted when another
 * opens, and a newer version opened elsewhere never deadlocks: the old tab lets go and says why.
 */
import { expect, test } from './fixtures/test';
import { existsSync } from 'node:fs';
import { addPastedDoc, fixtureDir, go, loadStories } from './fixtures/page-helpers';

test('two tabs share one library and both can add to it', async ({ context }) => {
  const first = await context.newPage();
  await first.goto('/');
  await addPastedDoc(first, 'From the first tab', 'The lighthouse keeper counted eleven ships.');

  const second = await context.newPage();
  await second.goto('/');
  await expect(second.getByTestId('doc-item').filter({ hasText: 'From the first tab' })).toHaveCount(1);
  await addPastedDoc(second, 'From the second tab', 'The baker opened at dawn and sold out by nine.');

  await first.reload();
  await expect(first.getByTestId('doc-item')).toHaveCount(2);
  await first.getByTestId('doc-item').filter({ hasText: 'From the second tab' }).click();
  await expect(first.getByTestId('doc-text')).toHaveText('The baker opened at dawn and sold out by nine.');
});

test('a run driven by one tab stays running when another tab opens', async ({ context }) => {
  test.skip(!existsSync(fixtureDir), `stories260K fixture not found at ${fixtureDir}`);
  const first = await context.newPage();
  await first.goto('/');
  await loadStories(first);
  await addPastedDoc(first, 'Kite', 'Lily had a red kite. She ran in the park and the kite went up high.');
  await addPastedDoc(first, 'Dog', 'Tom saw a big dog near the tree. The dog was sad because it lost its ball.');
  await go(first, 'compress');
  await first.getByTestId('run-settings').getByText('Compression settings').click();
  await first.getByTestId('run-samples').fill('4');
  await first.getByTestId('run-max-tokens').fill('300');
  await first.getByTestId('run-start').click();
  await expect(first.getByTestId('compression-item').first()).toBeVisible({ timeout: 60_000 });

  // The second tab starts while the first holds the run's lock: it must not call it interrupted.
  const second = await context.newPage();
  await second.goto('/');
  await expect(second.getByTestId('library-panel')).toHaveAttribute('data-ready', 'true');
  await go(second, 'runs');
  const listed = second.getByTestId('run-item').first();
  await expect(listed).toHaveAttribute('data-status', 'running');

  await expect(first.getByTestId('run-state')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
  await second.reload();
  await expect(second.getByTestId('run-item').first()).toHaveAttribute('data-status', 'done');
});

test('reopening a run another tab is running shows it read-only, and it follows that tab to the end', async ({ context }) => {
  test.skip(!existsSync(fixtureDir), `stories260K fixture not found at ${fixtureDir}`);
  test.setTimeout(240_000);
  const first = await context.newPage();
  await first.goto('/');
  await loadStories(first);
  await go(first, 'documents');
  await addPastedDoc(first, 'Kite', 'Lily had a red kite. She ran in the park and the kite went up high.');
  await addPastedDoc(first, 'Dog', 'Tom saw a big dog near the tree. The dog was sad because it lost its ball.');
  await addPastedDoc(first, 'Cake', 'Mum made a big cake for Sam. It had red and blue candles on top.');
  await go(first, 'compress');
  await first.getByTestId('run-settings').getByText('Compression settings').click();
  // Long enough (18 compressions of 200 tokens, then scoring) for the second tab to open it.
  await first.getByTestId('run-samples').fill('6');
  await first.getByTestId('run-max-tokens').fill('200');
  await first.getByTestId('run-start').click();
  await expect(first.getByTestId('compression-item').first()).toBeVisible({ timeout: 60_000 });

  const second = await context.newPage();
  await second.goto('/#/runs');
  const listed = second.getByTestId('run-item').first();
  await expect(listed).toHaveAttribute('data-state', 'running');
  // Whenever a run is stored as running, the tab driving it holds its lock.
  const runId = await listed.getAttribute('data-run-id');
  const held = await second.evaluate(async () => ((await navigator.locks.query()).held ?? []).map((l) => l.name));
  expect(held).toContain(`precis-run:${runId}`);

  await listed.getByTestId('run-reopen').click();
  await expect(second.getByTestId('run-elsewhere')).toBeVisible();
  await expect(second.getByTestId('run-state')).toHaveAttribute('data-state', 'running');
  await expect(second.getByTestId('run-cancel')).toBeDisabled();
  await expect(second.getByTestId('compression-item').first()).toBeVisible();

  // The first tab finishes; the second follows without a reload (BroadcastChannel).
  await expect(first.getByTestId('run-state')).toHaveAttribute('data-state', 'done', { timeout: 180_000 });
  await expect(second.getByTestId('run-state')).toHaveAttribute('data-state', 'done');
  await expect(second.getByTestId('run-elsewhere')).toHaveCount(0);
  await expect(second.getByTestId('compression-item')).toHaveCount(await first.getByTestId('compression-item').count());
  await expect(second.getByTestId('mi-bits')).toHaveAttribute('data-value', (await first.getByTestId('mi-bits').getAttribute('data-value'))!);
  await go(second, 'runs');
  await expect(second.getByTestId('run-item').first()).toHaveAttribute('data-state', 'done');
});

test('a newer database version opened elsewhere never deadlocks; the old tab says to reload', async ({ context }) => {
  const old = await context.newPage();
  await old.goto('/');
  await addPastedDoc(old, 'Kept', 'Nothing is lost when another tab upgrades.');

  // Another tab opens the database at a higher version, as a newer release of the app would.
  const newer = await context.newPage();
  await newer.goto('/favicon.svg');
  const opened = await newer.evaluate(
    () =>
      new Promise<string>((resolve) => {
        const req = indexedDB.open('precis', 1000);
        req.onupgradeneeded = () => undefined;
        req.onblocked = () => resolve('blocked');
        req.onsuccess = () => {
          req.result.close();
          resolve(`opened ${req.result.version}`);
        };
        req.onerror = () => resolve(`error ${req.error?.name}`);
      }),
  );
  expect(opened).toBe('opened 1000');
  await expect(old.getByTestId('library-db-problem')).toContainText('Reload this tab');

  // Reloaded, this (older) app meets a database from the future: it says so instead of failing silently.
  await old.reload();
  await expect(old.getByTestId('library-panel')).toHaveAttribute('data-ready', 'true');
  await expect(old.locator('[data-testid="library-db-problem"], [data-testid="library-error"]').first()).toContainText(/newer version/i);
});
