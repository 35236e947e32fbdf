/**
 * The ONNX engine inside the compressor worker (browser): onnxruntime-web on WASM or WebGPU.
 *
 * - ONNX Runtime's glue (.mjs) and binary (.wasm) are part of our build (Vite `?url` imports
 *   copy them into dist/assets), and `wasmPaths` points at them: nothing comes from a CDN, so the
 *   engine works offline once the model files are cached or served locally.
 * - Threads: multi-threaded WASM needs SharedArrayBuffer, which browsers give only to
 *   cross-origin-isolated pages (COOP + COEP headers). Isolated: up to 4 threads (at most the
 *   cores); not isolated: one thread, and the engine status says why.
 * - WebGPU: readiness is checked before anything downloads; q4f16/fp16 only with shader-f16.
 * - Memory: WASM is 32-bit here (at most 4 GiB of linear memory for weights, cache and working
 *   buffers), and navigator.deviceMemory (when the browser tells) bounds both devices; a model
 *   whose weights exceed that is refused before its download starts.
 */
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import ortMjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import type { Engine } from '../../../src/lib/core/engine';
import { probeWebGpu, assertWebGpuUsable } from '../../../src/lib/webgpu/readiness';
import type { LoadProgress, OnnxEngineSpec } from '../../contract';
import { loadOnnxEngine, planOnnxLoad } from './load';

/** WASM32's 4 GiB, less room for the runtime, the cache and working buffers. */
export const WASM_WEIGHTS_LIMIT_BYTES = 3.2 * 1024 ** 3;

export function threadPlan(isolated: boolean, cores: number, requested?: number): { threads: number; note: string } {
  if (!isolated) {
    return {
      threads: 1,
      note: 'One WASM thread: this page is not cross-origin isolated (its host does not send the COOP/COEP headers), so the browser allows no shared memory.',
    };
  }
  const threads = Math.max(1, Math.min(requested ?? Math.min(4, cores), 16));
  return { threads, note: `${threads} WASM thread${threads === 1 ? '' : 's'} (cross-origin isolated).` };
}

/** Bytes the weights may take on this device, or null when nothing bounds it. */
export function memoryBudget(device: 'wasm' | 'webgpu', deviceMemoryGB: number | undefined): number | null {
  // deviceMemory is rounded down and capped at 8 by browsers; half of it for one model's weights.
  const ram = deviceMemoryGB ? (deviceMemoryGB * 1024 ** 3) / 2 : null;
  if (device === 'wasm') return ram === null ? WASM_WEIGHTS_LIMIT_BYTES : Math.min(ram, WASM_WEIGHTS_LIMIT_BYTES);
  return ram;
}

export async function createOnnxEngine(spec: OnnxEngineSpec, onProgress: (p: LoadProgress) => void): Promise<Engine> {
  const g = globalThis as unknown as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number; deviceMemory?: number } };
  let shaderF16 = false;
  if (spec.device === 'webgpu') {
    const report = await probeWebGpu();
    assertWebGpuUsable(report);
    shaderF16 = report.shaderF16 === true;
  }
  const { threads, note } = spec.device === 'wasm'
    ? threadPlan(g.crossOriginIsolated === true, g.navigator?.hardwareConcurrency ?? 1, spec.threads)
    : { threads: 1, note: 'WebGPU (the GPU runs the model; WASM only glues it together).' };
  const options = {
    device: spec.device,
    dtype: spec.dtype ?? null,
    shaderF16,
    threads,
    threadsNote: note,
    wasmPaths: { mjs: new URL(ortMjsUrl, import.meta.url).href, wasm: new URL(ortWasmUrl, import.meta.url).href },
    memoryBudgetBytes: spec.memoryBudgetBytes === undefined ? memoryBudget(spec.device, g.navigator?.deviceMemory) : spec.memoryBudgetBytes,
  };
  onProgress({ phase: 'fetching', fraction: 0, text: `Checking ${spec.label}` });
  const plan = await planOnnxLoad(spec.source, options);
  const started = performance.now();
  return loadOnnxEngine(spec.source, {
    ...options,
    onProgress: ({ loadedBytes, totalBytes }) => {
      const total = totalBytes ?? plan.weightsBytes;
      const elapsedS = (performance.now() - started) / 1000;
      onProgress({
        phase: 'fetching',
        fraction: total ? Math.min(0.99, loadedBytes / total) : null,
        loadedBytes,
        totalBytes: total ?? undefined,
        etaSeconds: total && loadedBytes > 0 ? (elapsedS / loadedBytes) * Math.max(0, total - loadedBytes) : undefined,
        text: `Loading ${spec.label} (${plan.dtype}, ${spec.device}): ${(loadedBytes / 1e6).toFixed(1)} MB${total ? ` of ${(total / 1e6).toFixed(1)} MB` : ''}`,
      });
    },
  }, plan);
}
