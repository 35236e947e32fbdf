/**
 * The main thread's handle on the compressor worker. One worker for the whole page, created on
 * first use and never terminated to cancel work (it may hold a multi-gigabyte model): moving
 * around the app keeps the loaded model.
 */
import { proxy, transfer, wrap, type Remote } from 'comlink';
import type { CompressorApi } from '../../../workers/contract';

let remote: Remote<CompressorApi> | null = null;

export function compressor(): Remote<CompressorApi> {
  if (!remote) {
    const worker = new Worker(new URL('../../../workers/compressor.worker.ts', import.meta.url), {
      type: 'module',
      name: 'precis-compressor',
    });
    remote = wrap<CompressorApi>(worker);
  }
  return remote;
}

/** Wrap a callback so comlink calls it across the boundary instead of cloning it. */
export { proxy };

/** Mark buffers to move (not copy) to the worker. */
export { transfer };
