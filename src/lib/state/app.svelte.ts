/**
 * The page's stores, created once by App and shared with every view through a Svelte context.
 *
 * Invariant: views come and go with the hash route, but the state behind them lives here, so
 * leaving a view never cancels a run, a download or a send. A view reads `getApp()`; only App
 * calls `provideApp()`.
 */
import { getContext, setContext } from 'svelte';
import { startAutoSend } from '../predictor/auto-send.svelte';
import { SendSession } from '../predictor/send-session.svelte';
import { webGpuState, type WebGpuState } from '../webgpu/webgpu-state.svelte';
import { ChatCompressorStore } from './chat-compressor.svelte';
import { EngineStore } from './engine.svelte';
import { LibraryStore } from './library.svelte';
import { libraryIo } from '../worker/import-client';
import { Playground } from './playground.svelte';
import { PredictorState } from './predictor.svelte';
import { RunStore } from './run.svelte';
import { DemoStore } from './demo.svelte';
import { SweepStore } from './sweep.svelte';
import { pwaState } from '../pwa/register';
import type { PwaState } from '../pwa/pwa-state.svelte';

export class AppState {
  readonly engine = new EngineStore();
  /** A generate-only server that writes the compressions (the engine then only scores). */
  readonly writer = new ChatCompressorStore();
  readonly playground = new Playground();
  readonly library = new LibraryStore(libraryIo());
  readonly run = new RunStore();
  readonly predictor = new PredictorState();
  readonly send: SendSession;
  readonly webgpu: WebGpuState = webGpuState();
  readonly demo = new DemoStore();
  readonly sweep = new SweepStore();
  /** Offline readiness and app updates (the service worker). */
  readonly pwa: PwaState = pwaState();

  constructor() {
    this.send = new SendSession(this.predictor);
    // Auto-send (switched in predictor.setAutoSend) watches the run whichever view is shown.
    startAutoSend(this.predictor, this.send, () => ({
      runId: this.run.runId,
      runState: this.run.state,
      question: this.run.runQuestion || this.run.question,
      compressions: this.run.sendable,
      offline: !this.pwa.online,
      onExchange: (e) => void this.run.recordExchange(e),
    }));
  }
}

const KEY = Symbol('precis-app');

export function provideApp(app: AppState): AppState {
  setContext(KEY, app);
  return app;
}

export function getApp(): AppState {
  const app = getContext<AppState | undefined>(KEY);
  if (!app) throw new Error('getApp() called outside App');
  return app;
}
