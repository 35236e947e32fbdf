/**
 * How much space the app takes, split into documents, runs and cached models, and the request
 * for persistent storage. The browser's `navigator.storage.estimate()` gives the totals; the
 * split between documents and runs is counted from our own records (UTF-8 text sizes, and JSON
 * sizes for runs), so it is an estimate of the payload, not of the engine's overhead.
 */
import { getDb } from './db';

export interface StorageBreakdown {
  documentsBytes: number;
  documentCount: number;
  runsBytes: number;
  runCount: number;
  /** Bytes in the Cache API (web-llm keeps model weights there), when the browser says. */
  modelsBytes: number | null;
  /** The origin's total usage and quota, when the browser says. */
  usageBytes: number | null;
  quotaBytes: number | null;
  persisted: boolean | null;
}

function utf8Bytes(s: string): number {
  return new TextEncoder().encode(s).byteLength;
}

async function countRecords(): Promise<Pick<StorageBreakdown, 'documentsBytes' | 'documentCount' | 'runsBytes' | 'runCount'>> {
  const db = await getDb();
  const tx = db.transaction(['documents', 'runs', 'runBanks', 'compressions', 'exchanges'], 'readonly');
  let documentsBytes = 0;
  let documentCount = 0;
  for await (const cursor of tx.objectStore('documents')) {
    documentsBytes += cursor.value.textBytes + utf8Bytes(cursor.value.title) + 200;
    documentCount++;
  }
  let runsBytes = 0;
  let runCount = 0;
  for await (const cursor of tx.objectStore('runs')) {
    runsBytes += utf8Bytes(JSON.stringify(cursor.value));
    runCount++;
  }
  for await (const cursor of tx.objectStore('runBanks')) {
    for (const b of cursor.value.bank) runsBytes += utf8Bytes(b.text) + 64;
  }
  for await (const cursor of tx.objectStore('compressions')) runsBytes += utf8Bytes(JSON.stringify(cursor.value));
  for await (const cursor of tx.objectStore('exchanges')) runsBytes += utf8Bytes(JSON.stringify(cursor.value));
  await tx.done;
  return { documentsBytes, documentCount, runsBytes, runCount };
}

export async function storageBreakdown(): Promise<StorageBreakdown> {
  const counts = await countRecords();
  const storage = typeof navigator !== 'undefined' ? navigator.storage : undefined;
  let usageBytes: number | null = null;
  let quotaBytes: number | null = null;
  let modelsBytes: number | null = null;
  let persisted: boolean | null = null;
  if (storage?.estimate) {
    const est = (await storage.estimate()) as StorageEstimate & { usageDetails?: Record<string, number> };
    usageBytes = est.usage ?? null;
    quotaBytes = est.quota ?? null;
    modelsBytes = est.usageDetails?.caches ?? null;
  }
  if (storage?.persisted) persisted = await storage.persisted();
  return { ...counts, usageBytes, quotaBytes, modelsBytes, persisted };
}

/** Ask the browser to keep our data under storage pressure. Resolves to whether it agreed. */
export async function requestPersistentStorage(): Promise<boolean> {
  const storage = typeof navigator !== 'undefined' ? navigator.storage : undefined;
  if (!storage?.persist) return false;
  return storage.persist();
}

export function formatBytes(bytes: number | null): string {
  if (bytes === null) return 'unknown';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
