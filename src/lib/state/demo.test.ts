// @vitest-environment happy-dom
import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SAMPLES } from '../samples';
import { closeDb, useDatabaseForTests } from '../storage/db';
import { addDocument, listDocuments } from '../storage/documents';
import { listRuns } from '../storage/runs';
import { setSetting, getSetting } from '../storage/settings';
import { DEMO_KEY, DemoStore } from './demo.svelte';
import { LibraryStore } from './library.svelte';
import type { RunStore } from './run.svelte';

let n = 0;
beforeEach(async () => {
  await useDatabaseForTests(`precis-demo-${++n}-${Date.now()}`);
  localStorage.clear();
});
afterEach(async () => {
  await closeDb();
});

/** A run store whose cancel() returns at once while the run goes on writing for a moment, as the real one does. */
function runningRun(onStopped: () => Promise<void>) {
  const run = {
    busy: true,
    cancelled: false,
    question: '',
    async cancel() {
      run.cancelled = true;
      setTimeout(async () => {
        await onStopped();
        run.busy = false;
      }, 30);
    },
  };
  return run;
}

describe('DemoStore', () => {
  it('switching on loads the samples, opens the story alone, and suggests its question', async () => {
    const library = new LibraryStore();
    await library.init();
    const demo = new DemoStore();
    const run = { question: '' } as RunStore;
    await demo.switchTo(true, library, run);
    expect(localStorage.getItem(DEMO_KEY)).toBe('1');
    expect(library.samples).toHaveLength(SAMPLES.length);
    expect(library.documents.every((d) => d.sample === true)).toBe(true);
    expect([...library.selected]).toEqual([library.openId]);
    expect(library.openDocument?.title).toContain('The Red Kite');
    expect(run.question).toBe('Who helped get the kite down?');
    await demo.switchTo(false, library, run);
    expect(localStorage.getItem(DEMO_KEY)).toBeNull();
  });

  it('reset waits for a running run to stop before clearing, then clears records and precis* storage only', async () => {
    await addDocument({ title: 'Visitor doc', kind: 'pasted', text: 'private words' });
    await setSetting('library.selected', ['x']);
    localStorage.setItem('precis.predictor.v1', JSON.stringify({ apiKey: 'sk-visitor' }));
    localStorage.setItem('precis.run-draft', '{}');
    localStorage.setItem(DEMO_KEY, '1');
    localStorage.setItem('other-app', 'kept');
    // The run's last write lands after cancel() has returned: a reset that did not wait would keep it.
    const run = runningRun(async () => {
      await addDocument({ title: 'Written while stopping', kind: 'pasted', text: 'late write' });
    });
    const demo = new DemoStore();
    let reloaded = false;
    await demo.reset(run as unknown as RunStore, () => (reloaded = true));
    expect(run.cancelled).toBe(true);
    expect(run.busy).toBe(false);
    expect(reloaded).toBe(true);
    expect(await listDocuments()).toEqual([]);
    expect(await listRuns()).toEqual([]);
    expect(await getSetting('library.selected')).toBeUndefined();
    expect(localStorage.getItem('precis.predictor.v1')).toBeNull();
    expect(localStorage.getItem('precis.run-draft')).toBeNull();
    expect(localStorage.getItem(DEMO_KEY)).toBe('1');
    expect(localStorage.getItem('other-app')).toBe('kept');
  });

  it('a reset that fails says so by name and reloads nothing', async () => {
    const demo = new DemoStore();
    const run = { busy: true, cancel: async () => Promise.reject(Object.assign(new Error('worker gone'), { name: 'WorkerError' })) };
    let reloaded = false;
    await demo.reset(run as unknown as RunStore, () => (reloaded = true));
    expect(reloaded).toBe(false);
    expect(demo.error).toEqual({ name: 'WorkerError', message: 'worker gone' });
    expect(demo.phase).toBe('idle');
  });
});
