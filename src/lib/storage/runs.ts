/**
 * Runs, their compressions and their predictor exchanges: the only code that touches the `runs`,
 * `compressions` and `exchanges` stores.
 *
 * A run is created once with its bank; each compression is saved by itself the moment it
 * finishes, so a reload or crash keeps every finished one. On startup `markInterruptedRuns()`
 * turns runs left `running` by a previous page into `interrupted`; resuming one is
 * `setRunStatus(id, 'running')` and appending the compressions still missing.
 */
import type { EngineLoadReport } from '../core/engine';
import { getDb } from './db';
import { mapQuota, NotFoundError } from './errors';
import type {
  BankEntry,
  CompressionRecord,
  ExchangeRecord,
  RunMeta,
  RunRecord,
  RunSettings,
  RunStatus,
} from './schema';

export interface NewRun {
  question: string;
  docIds: string[];
  modelId: string;
  settings: RunSettings;
  bank: BankEntry[];
  /** The engine's load report (web-llm), kept with the run. */
  engineReport?: EngineLoadReport;
  /** A run written by a generate-only server: the engine that scored it, and the server's host. */
  scorerModelId?: string;
  compressorHost?: string;
  /** Optional fixed id (import, tests); a random UUID otherwise. */
  id?: string;
}

export type NewCompression = Omit<CompressionRecord, 'runId' | 'savedAt'>;
export type NewExchange = Omit<ExchangeRecord, 'seq' | 'runId'>;

/** A run with everything saved under it, compressions in index order. */
export interface RunWithDetails {
  run: RunRecord;
  compressions: CompressionRecord[];
  exchanges: ExchangeRecord[];
}

/** Create a run in status `running`. */
export async function createRun(input: NewRun): Promise<RunRecord> {
  const now = Date.now();
  const run: RunRecord = {
    id: input.id ?? crypto.randomUUID(),
    createdAt: now,
    updatedAt: now,
    finishedAt: null,
    status: 'running',
    question: input.question,
    docIds: [...input.docIds],
    modelId: input.modelId,
    settings: { ...input.settings },
    bank: input.bank.map((b) => ({ docId: b.docId, chunkIndex: b.chunkIndex, text: b.text })),
    miResult: null,
    error: null,
    ...(input.engineReport ? { engineReport: copyEngineReport(input.engineReport) } : {}),
    ...(input.scorerModelId ? { scorerModelId: input.scorerModelId } : {}),
    ...(input.compressorHost ? { compressorHost: input.compressorHost } : {}),
  };
  const db = await getDb();
  await mapQuota('The run', async () => {
    const tx = db.transaction(['runs', 'runBanks'], 'readwrite');
    await Promise.all([
      tx.objectStore('runs').add(runMeta(run)),
      tx.objectStore('runBanks').add({ runId: run.id, bank: run.bank }),
      tx.done,
    ]);
  });
  return run;
}

/** A plain copy of the known fields (the page may hand over a reactive proxy, which IndexedDB cannot clone). */
export function copyEngineReport(r: EngineLoadReport): EngineLoadReport {
  return {
    promptReuse: r.promptReuse,
    promptReuseNote: r.promptReuseNote,
    fastPath: r.fastPath,
    fastPathNote: r.fastPathNote,
    fastPathMaxDiffNats: r.fastPathMaxDiffNats,
    fastPathToleranceNats: r.fastPathToleranceNats,
    ...(r.fastPathRmsDiffNats !== undefined ? { fastPathRmsDiffNats: r.fastPathRmsDiffNats } : {}),
    ...(r.fastPathRmsToleranceNats !== undefined ? { fastPathRmsToleranceNats: r.fastPathRmsToleranceNats } : {}),
  };
}

export function runMeta(run: RunRecord): RunMeta {
  const { bank, ...rest } = run;
  return { ...rest, bankSize: bank.length };
}

/**
 * Save one finished compression: a small write of its own (the run record is only checked for,
 * never rewritten). Re-saving an index replaces it.
 */
export async function appendCompression(runId: string, compression: NewCompression): Promise<CompressionRecord> {
  const record: CompressionRecord = { ...compression, runId, savedAt: Date.now() };
  const db = await getDb();
  await mapQuota('The compression', async () => {
    const tx = db.transaction(['runs', 'compressions'], 'readwrite');
    const exists = await tx.objectStore('runs').getKey(runId);
    if (exists === undefined) {
      tx.abort();
      await tx.done.catch(() => undefined);
      throw new NotFoundError('The run');
    }
    await Promise.all([tx.objectStore('compressions').put(record), tx.done]);
  });
  return record;
}

/** Set a run's final (or resumed) status, with the estimator's result or the failure. */
export async function finishRun(
  runId: string,
  status: RunStatus,
  result?: { miResult?: unknown; error?: { name: string; message: string } | null },
): Promise<RunMeta> {
  return updateRun(runId, (run) => {
    const now = Date.now();
    run.status = status;
    run.updatedAt = now;
    run.finishedAt = status === 'running' ? null : now;
    if (result && 'miResult' in result) run.miResult = result.miResult ?? null;
    if (result && 'error' in result) run.error = result.error ?? null;
  });
}

/**
 * A scored run: its result and each compression's term and per-token information, written in one
 * transaction so a crash leaves either the whole result or none of it.
 */
export async function completeRun(
  runId: string,
  miResult: unknown,
  scores: { index: number; termNats: number; pmiNats: number[] }[],
): Promise<RunMeta> {
  const db = await getDb();
  return mapQuota('The run result', async () => {
    const tx = db.transaction(['runs', 'compressions'], 'readwrite');
    const run = await tx.objectStore('runs').get(runId);
    if (!run) {
      tx.abort();
      await tx.done.catch(() => undefined);
      throw new NotFoundError('The run');
    }
    const store = tx.objectStore('compressions');
    for (const s of scores) {
      const record = await store.get([runId, s.index]);
      if (record) await store.put({ ...record, termNats: s.termNats, pmiNats: s.pmiNats });
    }
    const now = Date.now();
    const next: RunMeta = { ...run, status: 'done', updatedAt: now, finishedAt: now, miResult, error: null };
    await Promise.all([tx.objectStore('runs').put(next), tx.done]);
    return next;
  });
}

/** Put a run back to `running` (resuming an interrupted or cancelled run). */
export function setRunStatus(runId: string, status: RunStatus): Promise<RunMeta> {
  return finishRun(runId, status);
}

async function updateRun(runId: string, change: (run: RunMeta) => void): Promise<RunMeta> {
  const db = await getDb();
  return mapQuota('The run', async () => {
    const tx = db.transaction('runs', 'readwrite');
    const run = await tx.store.get(runId);
    if (!run) {
      tx.abort();
      await tx.done.catch(() => undefined);
      throw new NotFoundError('The run');
    }
    change(run);
    await Promise.all([tx.store.put(run), tx.done]);
    return run;
  });
}

/** Runs newest first, without their banks or compressions (cheap to list). */
export async function listRuns(): Promise<RunMeta[]> {
  const runs = await (await getDb()).getAllFromIndex('runs', 'by-created');
  return runs.reverse();
}

/** Number of compressions saved per run id, for the runs list. */
export async function countCompressions(runId: string): Promise<number> {
  return (await getDb()).count('compressions', compressionRange(runId));
}

function compressionRange(runId: string): IDBKeyRange {
  // Arrays sort after numbers, so [runId, []] bounds every [runId, index].
  return IDBKeyRange.bound([runId], [runId, []]);
}

/** A run with its compressions and exchanges, read in one transaction. */
export async function getRun(runId: string): Promise<RunWithDetails | undefined> {
  const db = await getDb();
  const tx = db.transaction(['runs', 'runBanks', 'compressions', 'exchanges'], 'readonly');
  const [meta, bank, compressions, exchanges] = await Promise.all([
    tx.objectStore('runs').get(runId),
    tx.objectStore('runBanks').get(runId),
    tx.objectStore('compressions').getAll(compressionRange(runId)),
    tx.objectStore('exchanges').index('by-run').getAll(runId),
    tx.done,
  ]);
  if (!meta) return undefined;
  const { bankSize: _bankSize, ...rest } = meta;
  return { run: { ...rest, bank: bank?.bank ?? [] }, compressions, exchanges };
}

/** Delete a run and everything under it, atomically. */
export async function deleteRun(runId: string): Promise<void> {
  const db = await getDb();
  const tx = db.transaction(['runs', 'runBanks', 'compressions', 'exchanges'], 'readwrite');
  const exchangeKeys = await tx.objectStore('exchanges').index('by-run').getAllKeys(runId);
  await Promise.all([
    tx.objectStore('runs').delete(runId),
    tx.objectStore('runBanks').delete(runId),
    tx.objectStore('compressions').delete(compressionRange(runId)),
    ...exchangeKeys.map((k) => tx.objectStore('exchanges').delete(k)),
    tx.done,
  ]);
}

/** The Web Lock a tab holds while it drives a run, so other tabs can tell it is alive. */
export function runLockName(runId: string): string {
  return `precis-run:${runId}`;
}

/**
 * Hold the run's Web Lock while `work` runs. The run flow wraps a run in this so another tab's
 * `markInterruptedRuns()` leaves it alone. Without Web Locks `work` just runs.
 */
export async function withRunLock<T>(runId: string, work: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (!locks) return work();
  return locks.request(runLockName(runId), work) as Promise<T>;
}

/** Whether some tab (this one included) holds the run's Web Lock, i.e. drives it now. */
export async function isRunLockHeld(runId: string): Promise<boolean> {
  return (await heldRunLocks()).has(runLockName(runId));
}

async function heldRunLocks(): Promise<Set<string>> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (!locks) return new Set();
  try {
    const snapshot = await locks.query();
    return new Set((snapshot.held ?? []).map((l) => l.name ?? ''));
  } catch {
    return new Set();
  }
}

/**
 * Call once at startup: runs still `running` whose page is gone (reload, crash, closed tab)
 * become `interrupted`. Runs another live tab holds the lock of (see `withRunLock`) are left
 * alone. Returns the ids marked.
 */
export async function markInterruptedRuns(): Promise<string[]> {
  // Ask for the locks before the transaction: a transaction must not wait on anything else.
  const held = await heldRunLocks();
  const db = await getDb();
  const tx = db.transaction('runs', 'readwrite');
  const running = await tx.store.index('by-status').getAll('running');
  const orphans = running.filter((run) => !held.has(runLockName(run.id)));
  const now = Date.now();
  await Promise.all([
    ...orphans.map((run) => tx.store.put({ ...run, status: 'interrupted', updatedAt: now })),
    tx.done,
  ]);
  return orphans.map((r) => r.id);
}

/** Log one predictor request and its answer. Never pass headers or keys here. */
export async function logExchange(runId: string, exchange: NewExchange): Promise<ExchangeRecord> {
  const record: ExchangeRecord = { ...exchange, runId };
  const db = await getDb();
  const seq = await mapQuota('The predictor log', () => db.add('exchanges', record));
  return { ...record, seq };
}

/** Delete every run, compression and exchange. */
export async function deleteAllRuns(): Promise<void> {
  const db = await getDb();
  const tx = db.transaction(['runs', 'runBanks', 'compressions', 'exchanges'], 'readwrite');
  await Promise.all([
    tx.objectStore('runs').clear(),
    tx.objectStore('runBanks').clear(),
    tx.objectStore('compressions').clear(),
    tx.objectStore('exchanges').clear(),
    tx.done,
  ]);
}
