/**
 * Browser side of `npm run bench:onnx`: the app's own compressor worker (same build settings,
 * same ONNX engine) driven through its comlink API, with no UI in between. `window.benchOnnx`
 * loads onnx:stories260K on the given device and thread count and returns the measured figures.
 */
import { wrap } from 'comlink';
import type { CompressorApi } from '../../workers/contract';
import type { SamplingSettings } from '../../src/lib/core/engine';

interface BenchInput {
  device: 'wasm' | 'webgpu';
  threads: number;
  prompt: number[];
  decodeTokens: number;
  contexts: string[];
  question: string;
  maxTokens: number;
}

async function benchOnnx(input: BenchInput) {
  const api = wrap<CompressorApi>(new Worker(new URL('../../workers/compressor.worker.ts', import.meta.url), { type: 'module' }));
  const t0 = performance.now();
  const info = await api.load({
    kind: 'onnx',
    label: 'stories260K',
    source: { kind: 'url', url: new URL('/models/stories260K-onnx/', location.href).href, name: 'stories260K' },
    device: input.device,
    threads: input.threads,
  });
  const loadMs = performance.now() - t0;
  const greedy = (maxTokens: number): SamplingSettings => ({ temperature: 0, topP: 1, maxTokens, seed: 0 });
  // Warm-up, then the best of three for each figure.
  await api.generate({ prompt: { kind: 'ids', ids: input.prompt }, settings: greedy(8) });
  let prefillMs = Infinity;
  let decodeMs = Infinity;
  for (let r = 0; r < 3; r++) {
    prefillMs = Math.min(prefillMs, (await api.generate({ prompt: { kind: 'ids', ids: input.prompt }, settings: greedy(1) })).elapsedMs);
    decodeMs = Math.min(decodeMs, (await api.generate({ prompt: { kind: 'ids', ids: [1] }, settings: greedy(input.decodeTokens) })).elapsedMs);
  }
  const outcome = await api.estimate({
    contexts: input.contexts,
    question: input.question,
    samplesPerContext: 1,
    settings: { temperature: 1, topP: 1, maxTokens: input.maxTokens, seed: 0 },
  });
  if (outcome.status !== 'done') throw new Error('estimate did not finish');
  return {
    info,
    isolated: crossOriginIsolated,
    loadMs,
    prefillTokensPerSecond: (input.prompt.length / prefillMs) * 1000,
    decodeTokensPerSecond: (input.decodeTokens / decodeMs) * 1000,
    miBits: outcome.summary.miBits,
    generationMs: outcome.timings.generationMs,
    scoringMs: outcome.timings.scoringMs,
    scoringCounters: outcome.counters.scoring,
  };
}

(window as unknown as { benchOnnx: typeof benchOnnx }).benchOnnx = benchOnnx;
