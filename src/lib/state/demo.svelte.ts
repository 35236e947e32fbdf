/**
 * Demo mode for a booth: large type, the samples loaded, the compressor warmed, and a reset that
 * returns the app to its first screen for the next visitor.
 *
 * Decision: the reset cancels a run in progress and waits for it to stop, deletes every record
 * of the app's IndexedDB database (documents, runs, compressions, exchanges, settings) and every
 * `precis*` entry of localStorage (predictor settings and a remembered key, the run draft), then
 * reloads the page on `#/` so no in-memory state (the key typed for this visit, an answer) can
 * survive. Downloaded models are kept: web-llm's Cache Storage and the service worker's caches are
 * not touched. The demo flag itself stays on (it belongs to the booth, not to the visitor), so the
 * next visitor gets large type and a warmed compressor, and the first screen's "Load sample
 * documents" is one click away; the samples are loaded when demo mode is switched on, not after a
 * reset, so a reset really leaves no document behind.
 */
import { errorMessage, errorName } from '../core/errors';
import { FIRST_SAMPLE_ID, SAMPLES } from '../samples';
import { clearAll } from '../storage';
import type { LibraryStore } from './library.svelte';
import type { RunStore } from './run.svelte';

export const DEMO_KEY = 'precis.demo';

function readFlag(): boolean {
  try {
    return typeof localStorage !== 'undefined' && localStorage.getItem(DEMO_KEY) === '1';
  } catch {
    return false;
  }
}

/** Resolve once `done()` is true, checking after each state change the run reports. */
function until(done: () => boolean, stepMs = 50): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (done() ? resolve() : setTimeout(check, stepMs));
    check();
  });
}

/** Remove this app's localStorage entries (all keys starting with `precis`), except `keep`. */
export function clearAppLocalStorage(keep: string[] = []): void {
  try {
    const keys: string[] = [];
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      if (k && k.startsWith('precis') && !keep.includes(k)) keys.push(k);
    }
    for (const k of keys) localStorage.removeItem(k);
    sessionStorage.clear();
  } catch {
    // Storage unavailable (private mode): nothing was kept there either.
  }
}

export type ResetPhase = 'idle' | 'confirming' | 'cancelling' | 'clearing';

export class DemoStore {
  on = $state(readFlag());
  phase = $state<ResetPhase>('idle');
  error = $state<{ name: string; message: string } | null>(null);

  setOn(on: boolean): void {
    this.on = on;
    try {
      if (on) localStorage.setItem(DEMO_KEY, '1');
      else localStorage.removeItem(DEMO_KEY);
    } catch {
      // Not kept across reloads; the toggle still works for this visit.
    }
  }

  /**
   * Switch demo mode on or off. Switching it on loads the samples (the story open and selected)
   * and, when no question is written yet, the story's first suggested question.
   */
  async switchTo(on: boolean, library: LibraryStore, run: RunStore): Promise<void> {
    this.setOn(on);
    if (!on) return;
    const first = SAMPLES.findIndex((s) => s.id === FIRST_SAMPLE_ID);
    await library.loadSamples(SAMPLES, first);
    if (!run.question.trim()) run.question = SAMPLES[first]?.questions[0] ?? '';
  }

  ask(): void {
    if (this.phase === 'idle') this.phase = 'confirming';
  }

  keep(): void {
    if (this.phase === 'confirming') this.phase = 'idle';
  }

  /**
   * Cancel a run in progress (and wait until it has stopped), clear everything the visitor left,
   * and reload on the first screen. `reload` is replaceable for tests.
   */
  async reset(run: RunStore, reload: () => void = defaultReload): Promise<void> {
    this.error = null;
    try {
      if (run.busy) {
        this.phase = 'cancelling';
        await run.cancel();
        await until(() => !run.busy);
      }
      this.phase = 'clearing';
      await clearAll();
      clearAppLocalStorage(this.on ? [DEMO_KEY] : []);
      reload();
    } catch (err) {
      this.phase = 'idle';
      this.error = { name: errorName(err), message: errorMessage(err) };
    }
  }
}

function defaultReload(): void {
  history.replaceState(null, '', `${location.pathname}${location.search}#/`);
  location.reload();
}
