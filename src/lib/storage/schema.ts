/**
 * The IndexedDB schema: record types and the upgrade ladder.
 *
 * Invariants:
 * - The ladder (`if (oldVersion < N)`) is append-only: a step that has shipped is never edited,
 *   a change of shape is a new step with a higher `DB_VERSION`.
 * - Document text lives in its own store (`docTexts`) so listing the library never loads the
 *   texts of every document (a single one may be 50 MB).
 * - Each compression and each predictor exchange is its own small record, so saving one is a
 *   small write and a crash loses at most the one in flight. A run's bank (its chunk texts, which
 *   can be megabytes) lives in `runBanks`, so updating a run's status or listing runs stays small.
 * Only the repository modules in this folder open transactions on these stores.
 */
import type { DBSchema, IDBPDatabase } from 'idb';
import type { ChatMessage, EngineLoadReport, SamplingSettings } from '../core/engine';
import type { SweepRecord } from './sweeps';

export const DB_NAME = 'precis';
export const DB_VERSION = 2;

export type DocKind = 'text' | 'markdown' | 'html' | 'pdf' | 'pasted';

/** A library document without its text (cheap to list). */
export interface DocumentMeta {
  id: string;
  title: string;
  kind: DocKind;
  /** MIME type reported by the browser for imported files ('' when unknown). */
  mime: string;
  /** Size of the original file (or of the pasted text in UTF-8). */
  sizeBytes: number;
  /** UTF-8 size of the extracted text. */
  textBytes: number;
  textChars: number;
  /** SHA-256 of the extracted text (UTF-8), lowercase hex: the duplicate key. */
  hash: string;
  /** A cheap estimate (chars / 4) until a model's own tokenizer counts it. */
  tokenEstimate: number;
  createdAt: number;
  /**
   * True for the sample documents shipped with the app (removable in one click). Optional, so
   * records written before it existed need no upgrade step: absent means not a sample.
   */
  sample?: boolean;
}

export interface DocumentRecord extends DocumentMeta {
  text: string;
}

export type RunStatus = 'running' | 'done' | 'cancelled' | 'interrupted' | 'failed';

/** One context of the run's bank: a chunk of a library document. */
export interface BankEntry {
  docId: string;
  chunkIndex: number;
  text: string;
}

export interface RunSettings extends SamplingSettings {
  /** M: compressions sampled per context. */
  samplesPerContext: number;
  /** Sentences asked of each compression (chat-style models only). */
  sentenceBudget?: number;
}

export interface RunRecord {
  id: string;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  status: RunStatus;
  question: string;
  docIds: string[];
  /** Engine-qualified model id, e.g. `reference:stories260K`. */
  modelId: string;
  settings: RunSettings;
  bank: BankEntry[];
  /** The estimator's result (its type belongs to src/lib/core/estimator.ts). */
  miResult: unknown;
  /** Why a run failed, when it did. */
  error: { name: string; message: string } | null;
  /**
   * The engine's load report when the run started (web-llm: prompt reuse and the all-positions
   * scoring path, on or off and why, with the measured difference). Absent for the reference
   * engine and in runs saved before it was kept. An optional field: no schema version change.
   */
  engineReport?: EngineLoadReport;
  /**
   * Runs written by a generate-only server (Ollama, LM Studio, llama-server...): `modelId` is
   * that server's model, this the engine that scored the re-tokenised texts, and
   * `compressorHost` where the raw text went. Absent when the compressor scored itself. Optional
   * fields: no schema version change.
   */
  scorerModelId?: string;
  compressorHost?: string;
}

/** What the `runs` store holds: the run without its bank (kept in `runBanks`). */
export type RunMeta = Omit<RunRecord, 'bank'> & { bankSize: number };

export interface CompressionRecord {
  runId: string;
  /** Position in the run's compression list (the orchestrator assigns it). */
  index: number;
  /** Index of the context (into `RunRecord.bank`) it compresses. */
  context: number;
  /** Which of the M samples of that context. */
  sample: number;
  text: string;
  ids: number[];
  logprobsNats: number[];
  /** The seed this compression was sampled with (absent in records from before it was kept). */
  seed?: number;
  /** The text each id added, as the engine streamed it (same length as ids). */
  tokenTexts?: string[];
  /** 'stop' or 'length' (a cut compression); absent in older records. */
  stopReason?: 'stop' | 'length';
  /** The compression's MI term (nats), once the run was scored. */
  termNats?: number;
  /** Per-token information (nats), one per id, summing to termNats. */
  pmiNats?: number[];
  truncated: boolean;
  empty: boolean;
  savedAt: number;
}

export interface ExchangeUsage {
  promptTokens?: number;
  completionTokens?: number;
  totalTokens?: number;
}

/**
 * One request to the predictor and what came back. It never holds headers or an API key: the
 * request is described by host, model and messages only.
 */
export interface ExchangeRecord {
  /** Assigned by the store (auto-increment); absent before saving. */
  seq?: number;
  runId: string;
  /** Host (origin) the request went to, e.g. `https://api.example.com`. */
  host: string;
  model: string;
  at: number;
  messages: ChatMessage[];
  response: string;
  usage: ExchangeUsage | null;
  durationMs?: number;
  error?: { name: string; message: string } | null;
}

export interface SettingRecord {
  key: string;
  value: unknown;
}

export interface PrecisDb extends DBSchema {
  documents: { key: string; value: DocumentMeta; indexes: { 'by-hash': string; 'by-created': number } };
  docTexts: { key: string; value: { id: string; text: string } };
  runs: { key: string; value: RunMeta; indexes: { 'by-created': number; 'by-status': RunStatus } };
  runBanks: { key: string; value: { runId: string; bank: BankEntry[] } };
  compressions: { key: [string, number]; value: CompressionRecord };
  exchanges: { key: number; value: ExchangeRecord; indexes: { 'by-run': string } };
  settings: { key: string; value: SettingRecord };
  /** Version 2: sweeps (storage/sweeps.ts). */
  sweeps: { key: string; value: SweepRecord; indexes: { 'by-created': number } };
}

/** Names of every store, for transactions that must cover them all (import, clear). */
export const ALL_STORES = ['documents', 'docTexts', 'runs', 'runBanks', 'compressions', 'exchanges', 'settings', 'sweeps'] as const;


/** The upgrade ladder. Runs inside the versionchange transaction; awaits nothing else. */
export function upgradeSchema(db: IDBPDatabase<PrecisDb>, oldVersion: number): void {
  if (oldVersion < 1) {
    const docs = db.createObjectStore('documents', { keyPath: 'id' });
    docs.createIndex('by-hash', 'hash', { unique: true });
    docs.createIndex('by-created', 'createdAt');
    db.createObjectStore('docTexts', { keyPath: 'id' });
    const runs = db.createObjectStore('runs', { keyPath: 'id' });
    runs.createIndex('by-created', 'createdAt');
    runs.createIndex('by-status', 'status');
    db.createObjectStore('runBanks', { keyPath: 'runId' });
    db.createObjectStore('compressions', { keyPath: ['runId', 'index'] });
    const exchanges = db.createObjectStore('exchanges', { keyPath: 'seq', autoIncrement: true });
    exchanges.createIndex('by-run', 'runId');
    db.createObjectStore('settings', { keyPath: 'key' });
  }
  if (oldVersion < 2) {
    const sweeps = db.createObjectStore('sweeps', { keyPath: 'id' });
    sweeps.createIndex('by-created', 'createdAt');
  }
}
