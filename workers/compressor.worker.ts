/**
 * The compressor worker: owns the one loaded engine and serialises every call to it.
 *
 * Invariants:
 * - At most one engine call runs at a time (the mutex); `interrupt()` skips the queue so it can
 *   stop the running call at its next token boundary. It cancels every chunk or estimate call
 *   made before it, running or still queued (a cancel epoch): a split queued behind another
 *   never starts after Cancel was pressed.
 * - Chunking yields to the event loop every few tens of milliseconds and checks the epoch, so
 *   Cancel reaches a split of a huge document (comlink cannot deliver `interrupt()` while a
 *   synchronous loop runs).
 * - The page holds no handle on this API other than its comlink wrapper (none on `window`); a
 *   test that needs the API directly starts its own copy of this worker.
 * - A model stays loaded until `load()` replaces it or `unload()` drops it; the main thread
 *   never terminates this worker to cancel work.
 * - web-llm (6 MB) is imported only when a web-llm model is loaded, and transformers.js with
 *   onnxruntime-web only when an ONNX model is, so a reference-engine session fetches neither.
 */
import { expose } from 'comlink';
import type { Engine } from '../src/lib/core/engine';
import { InterruptedError, ModelNotLoadedError } from '../src/lib/core/errors';
import type { CompressorApi, EngineSpec, GenerateReply, LoadProgress } from './contract';
import { fetchWithProgress } from './fetch-progress';
import { Mutex } from './mutex';
import { ReferenceEngine } from './engines/reference/engine';
import { chunkForCompression } from '../src/lib/core/chunk-for-compression';
import { runEstimate } from '../src/lib/core/run-estimate';
import { nowMs, yieldToEventLoop } from './engines/reference/yield';
import { deleteModelFiles, listCachedModels } from '../src/lib/webgpu/cache';
import { findModelRecord, modelRecords } from '../src/lib/webgpu/model-list';
import { InvalidArgumentError } from '../src/lib/core/errors';

let engine: Engine | null = null;
/** A generate-only compressor beside the engine (which then only scores), or null. */
let textCompressor: import('./engines/chat/compressor').ChatCompressor | null = null;
const lock = new Mutex();
/** Raised by interrupt(): every call that captured a lower epoch is cancelled. */
let cancelEpoch = 0;
/** Chunking yields at least this often, so an interrupt() message can arrive. */
const CHUNK_YIELD_MS = 25;

/** A signal that turns aborted once interrupt() is called after this point. */
function cancelSignal(): { readonly aborted: boolean } {
  const epoch = cancelEpoch;
  return {
    get aborted() {
      return cancelEpoch !== epoch;
    },
  };
}

/** The chunker's checkpoint: yield now and then, throw once cancelled. */
function chunkCheckpoint(signal: { readonly aborted: boolean }): () => Promise<void> | void {
  let last = nowMs();
  return () => {
    if (signal.aborted) throw new InterruptedError('Splitting the documents into passages');
    if (nowMs() - last < CHUNK_YIELD_MS) return;
    return yieldToEventLoop().then(() => {
      last = nowMs();
      if (signal.aborted) throw new InterruptedError('Splitting the documents into passages');
    });
  };
}

function loaded(): Engine {
  if (!engine) throw new ModelNotLoadedError();
  return engine;
}

async function loadReference(spec: EngineSpec, onProgress: (p: LoadProgress) => void): Promise<Engine> {
  if (spec.kind === 'reference-bytes') {
    onProgress({ phase: 'parsing', fraction: 0.5, text: `Reading ${spec.name}` });
    return ReferenceEngine.fromBytes(spec.name, spec.checkpoint, spec.tokenizer);
  }
  if (spec.kind !== 'reference-url') throw new Error('unreachable');
  const started = performance.now();
  const report = (what: string, loadedBytes: number, totalBytes: number | null, base: number, span: number) => {
    const within = totalBytes ? loadedBytes / totalBytes : 0;
    const elapsedS = (performance.now() - started) / 1000;
    const etaSeconds = totalBytes && loadedBytes > 0 ? (elapsedS / loadedBytes) * (totalBytes - loadedBytes) : undefined;
    onProgress({
      phase: 'fetching',
      fraction: base + span * within,
      loadedBytes,
      totalBytes: totalBytes ?? undefined,
      etaSeconds,
      text: `Downloading ${what}: ${(loadedBytes / 1e6).toFixed(2)} MB${totalBytes ? ` of ${(totalBytes / 1e6).toFixed(2)} MB` : ''}`,
    });
  };
  const checkpoint = await fetchWithProgress(spec.checkpointUrl, (l, t) => report('checkpoint', l, t, 0, 0.9));
  const tokenizer = await fetchWithProgress(spec.tokenizerUrl, (l, t) => report('tokenizer', l, t, 0.9, 0.08));
  onProgress({ phase: 'parsing', fraction: 0.98, text: 'Preparing the model' });
  return ReferenceEngine.fromBytes(spec.name, checkpoint, tokenizer);
}

/** A server that receives raw text: loopback only, unless the user confirmed this very host. */
async function checkHost(baseURL: string, confirmedHost: string | undefined): Promise<string> {
  const { isLoopbackUrl, hostOf } = await import('../src/lib/core/server-host');
  const host = hostOf(baseURL);
  if (!isLoopbackUrl(baseURL) && confirmedHost !== host) {
    const { ServerHostNotConfirmedError } = await import('../src/lib/core/server-errors');
    throw new ServerHostNotConfirmedError(host);
  }
  return host;
}

async function loadServer(spec: Extract<EngineSpec, { kind: 'server' }>, onProgress: (p: LoadProgress) => void): Promise<Engine> {
  const host = await checkHost(spec.config.baseURL, spec.confirmedHost);
  onProgress({ phase: 'fetching', fraction: null, text: `Connecting to ${host} and checking that it can score text` });
  const { ServerEngine } = await import('./engines/server/engine');
  return ServerEngine.connect(spec.config);
}

async function loadWebLlm(modelId: string, onProgress: (p: LoadProgress) => void): Promise<Engine> {
  const { createWebLlmEngine } = await import('./engines/webllm/engine');
  return createWebLlmEngine(modelId, onProgress);
}

async function loadOnnx(spec: Extract<EngineSpec, { kind: 'onnx' }>, onProgress: (p: LoadProgress) => void): Promise<Engine> {
  const { createOnnxEngine } = await import('./engines/onnx/browser');
  return createOnnxEngine(spec, onProgress);
}

const api = {
  load(spec, onProgress) {
    const progress = onProgress ?? (() => {});
    return lock.run(async () => {
      const previous = engine;
      engine = null;
      await previous?.dispose();
      const next =
        spec.kind === 'webllm'
          ? await loadWebLlm(spec.modelId, progress)
          : spec.kind === 'server'
            ? await loadServer(spec, progress)
            : spec.kind === 'onnx'
              ? await loadOnnx(spec, progress)
              : await loadReference(spec, progress);
      engine = next;
      progress({ phase: 'ready', fraction: 1, text: `${next.info.id} is ready` });
      return next.info;
    });
  },
  unload() {
    return lock.run(async () => {
      const previous = engine;
      engine = null;
      await previous?.dispose();
    });
  },
  async info() {
    return engine?.info ?? null;
  },
  tokenize(text) {
    return lock.run(async () => loaded().tokenize(text));
  },
  detokenize(ids) {
    return lock.run(async () => loaded().detokenize(ids));
  },
  promptIds(prompt) {
    return lock.run(async () => loaded().promptIds(prompt));
  },
  generate(request, onToken) {
    return lock.run(async (): Promise<GenerateReply> => {
      const e = loaded();
      const promptIds = request.prompt.kind === 'ids' ? request.prompt.ids : await e.promptIds(request.prompt);
      const started = performance.now();
      const result = await e.generate(promptIds, request.settings, onToken);
      return { ...result, promptIds, text: await e.detokenize(result.ids), elapsedMs: performance.now() - started };
    });
  },
  score(promptIds, continuations, temperature) {
    return lock.run(() => loaded().score(promptIds, continuations, temperature));
  },
  chunk(texts, request) {
    const signal = cancelSignal();
    return lock.run(() => chunkForCompression(loaded(), texts, request, { checkpoint: chunkCheckpoint(signal) }));
  },
  estimate(request, onProgress, onCompression, onToken, via) {
    const signal = cancelSignal();
    return lock.run(async () => {
      let compressor;
      if (via) {
        if (!textCompressor || textCompressor.id !== via.compressorId) {
          throw new InvalidArgumentError(`The generate-only compressor ${via.compressorId} is not connected: connect it again.`);
        }
        compressor = textCompressor;
      }
      return runEstimate(loaded(), request, { signal, onProgress, onCompression, onToken }, { compressor });
    });
  },
  connectTextCompressor(spec) {
    return lock.run(async () => {
      const previous = textCompressor;
      textCompressor = null;
      await previous?.dispose();
      await checkHost(spec.config.baseURL, spec.confirmedHost);
      const { ChatCompressor } = await import('./engines/chat/compressor');
      const next = await ChatCompressor.connect(spec.config);
      textCompressor = next;
      return { id: next.id, host: next.host, kind: spec.config.kind, concurrency: next.concurrency };
    });
  },
  disconnectTextCompressor() {
    return lock.run(async () => {
      const previous = textCompressor;
      textCompressor = null;
      await previous?.dispose();
    });
  },
  async listChatModels(config) {
    const { ChatCompressor } = await import('./engines/chat/compressor');
    return ChatCompressor.listModels(config);
  },
  async cachedModels() {
    return listCachedModels(modelRecords(), self.caches);
  },
  async deleteCachedModel(modelId) {
    const record = findModelRecord(modelId);
    if (!record) throw new InvalidArgumentError(`${modelId} is not a web-llm model this app knows.`);
    if (self.caches) await deleteModelFiles(record, self.caches);
  },
  async interrupt() {
    cancelEpoch++;
    engine?.interrupt();
    textCompressor?.interrupt();
  },
  async counters() {
    return loaded().counters();
  },
} satisfies CompressorApi;

expose(api);
