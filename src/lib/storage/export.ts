/**
 * Export the library (or one run) as an NDJSON Blob built from parts, and import such a file
 * (or a schema-1 JSON export) from a stream.
 *
 * Export reads every store in one read-only transaction, one record at a time, and turns each
 * into one line; the lines are gathered into Blobs of a few megabytes, so the file is never one
 * string and a library of any size that fits in the browser's storage can be written out.
 *
 * Import is all or nothing: the whole file is read and every record validated and rebuilt
 * first (`export-format.ts`), hashes are computed before the transaction, and every write then
 * happens in one transaction over all stores, which is aborted on any failure, so a bad file
 * leaves the library exactly as it was. Documents already present (same text) are not stored
 * twice; runs already present (same id) are kept as they are.
 */
import { getDb } from './db';
import { mapQuota, NotFoundError } from './errors';
import {
  EXPORT_MIME,
  exportHeader,
  exportLine,
  readExport,
  stripSecrets,
  type ExportedRun,
  type ExportLine,
  type ExportScope,
  type ParsedExport,
} from './export-format';
import { runRecordOf } from './export-schema';
import { prepareDocument } from './documents';
import { getRun, runMeta } from './runs';
import { isSecretKey } from './settings';
import { ALL_STORES, type DocumentRecord } from './schema';

export { parseExport, readExport, EXPORT_SCHEMA_VERSION, EXPORT_MIME, type ParsedExport } from './export-format';

/** Lines are gathered into Blobs of about this many characters (a Blob may live on disk). */
const PART_CHARS = 4 * 1024 * 1024;

/** Builds a Blob from lines without ever joining them into one string. */
class BlobWriter {
  private readonly blobs: Blob[] = [];
  private pending: string[] = [];
  private pendingChars = 0;

  write(line: string): void {
    this.pending.push(line);
    this.pendingChars += line.length;
    if (this.pendingChars >= PART_CHARS) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.blobs.push(new Blob(this.pending));
    this.pending = [];
    this.pendingChars = 0;
  }

  blob(): Blob {
    this.flush();
    return new Blob(this.blobs, { type: EXPORT_MIME });
  }
}

function start(scope: ExportScope): BlobWriter {
  const out = new BlobWriter();
  out.write(exportLine(exportHeader(scope)));
  return out;
}

const line = (value: ExportLine) => exportLine(value);

/** The whole library: documents with texts, runs with compressions and exchanges, settings. */
export async function exportLibrary(): Promise<Blob> {
  const out = start('library');
  const db = await getDb();
  const tx = db.transaction(ALL_STORES, 'readonly');
  const texts = tx.objectStore('docTexts');
  for await (const cursor of tx.objectStore('documents').index('by-created').iterate()) {
    const body = await texts.get(cursor.value.id);
    const document: DocumentRecord = { ...cursor.value, text: body?.text ?? '' };
    out.write(line({ document }));
  }
  const banks = tx.objectStore('runBanks');
  const compressions = tx.objectStore('compressions');
  const exchanges = tx.objectStore('exchanges').index('by-run');
  for await (const cursor of tx.objectStore('runs').index('by-created').iterate()) {
    const { bankSize: _n, ...meta } = cursor.value;
    const [bank, comps, exs] = await Promise.all([
      banks.get(meta.id),
      compressions.getAll(IDBKeyRange.bound([meta.id], [meta.id, []])),
      exchanges.getAll(meta.id),
    ]);
    const run: ExportedRun = {
      run: { ...meta, bank: bank?.bank ?? [] },
      compressions: comps,
      exchanges: exs.map(({ seq: _seq, ...e }) => e),
    };
    out.write(line({ run: stripSecrets(run) }));
  }
  for await (const cursor of tx.objectStore('settings').iterate()) {
    if (!isSecretKey(cursor.value.key)) out.write(line({ setting: stripSecrets(cursor.value) }));
  }
  await tx.done;
  return out.blob();
}

/** One run with its compressions and exchanges; its bank holds the raw passages it used. */
export async function exportRunFile(runId: string): Promise<Blob> {
  const details = await getRun(runId);
  if (!details) throw new NotFoundError('The run');
  const { run, compressions, exchanges } = details;
  const out = start('run');
  out.write(line({ run: stripSecrets({ run, compressions, exchanges: exchanges.map(({ seq: _s, ...e }) => e) }) }));
  return out.blob();
}

export interface ImportSummary {
  documentsAdded: number;
  documentsAlreadyPresent: number;
  runsAdded: number;
  runsAlreadyPresent: number;
  settingsImported: number;
  /** Settings in the file whose key this version does not know; they were left out. */
  settingsDropped: number;
}

/** Read a file (or any Blob) as text, as a stream. */
export function textStream(file: Blob): ReadableStream<string> {
  return file.stream().pipeThrough(new TextDecoderStream());
}

/** Validate and import an export file (schema 2 NDJSON or schema 1 JSON), read as a stream. */
export async function importExportFile(file: Blob): Promise<ImportSummary> {
  return writeImport(await readExport(textStream(file)));
}

/** Validate and import an export file's text. Throws `ImportFormatError` with what is wrong. */
export async function importJson(text: string): Promise<ImportSummary> {
  return importExportFile(new Blob([text]));
}

/** Write a validated export in one transaction; abort it (nothing written) on any failure. */
export async function writeImport(file: ParsedExport): Promise<ImportSummary> {
  // Recompute hashes and sizes rather than trusting the file; done before the transaction.
  const prepared: DocumentRecord[] = [];
  for (const d of file.documents) {
    const fresh = await prepareDocument({ title: d.title, kind: d.kind, text: d.text, mime: d.mime, sizeBytes: d.sizeBytes }, d.createdAt);
    prepared.push({ ...fresh, id: d.id });
  }
  const runs = file.runs.map(runRecordOf);
  const db = await getDb();
  return mapQuota('The import', async () => {
    const tx = db.transaction(ALL_STORES, 'readwrite');
    const summary: ImportSummary = {
      documentsAdded: 0,
      documentsAlreadyPresent: 0,
      runsAdded: 0,
      runsAlreadyPresent: 0,
      settingsImported: 0,
      settingsDropped: file.droppedSettings,
    };
    const pending: Promise<unknown>[] = [];
    // Mark each write handled now; Promise.all below still sees a failure.
    const write = (...ps: Promise<unknown>[]) => {
      for (const p of ps) {
        p.catch(() => undefined);
        pending.push(p);
      }
    };
    try {
      const docs = tx.objectStore('documents');
      const idMap = new Map<string, string>();
      const assigned = new Set<string>();
      /** Texts added by this import, by hash: a file may hold the same text twice. */
      const addedByHash = new Map<string, string>();
      for (const rec of prepared) {
        const same = addedByHash.get(rec.hash) ?? (await docs.index('by-hash').get(rec.hash))?.id;
        if (same) {
          idMap.set(rec.id, same);
          summary.documentsAlreadyPresent++;
          continue;
        }
        // An id taken by a different text gets a fresh id; runs follow the mapping.
        const id = (await docs.get(rec.id)) || assigned.has(rec.id) ? crypto.randomUUID() : rec.id;
        idMap.set(rec.id, id);
        assigned.add(id);
        addedByHash.set(rec.hash, id);
        const { text, ...meta } = rec;
        write(docs.add({ ...meta, id }), tx.objectStore('docTexts').put({ id, text }));
        summary.documentsAdded++;
      }
      const mapId = (id: string) => idMap.get(id) ?? id;
      const seenRuns = new Set<string>();
      for (const { run, compressions, exchanges } of runs) {
        if (seenRuns.has(run.id) || (await tx.objectStore('runs').get(run.id))) {
          summary.runsAlreadyPresent++;
          continue;
        }
        seenRuns.add(run.id);
        const bank = run.bank.map((b) => ({ ...b, docId: mapId(b.docId) }));
        const meta = runMeta({
          ...run,
          // Nothing drives an imported run: it can be resumed, never shown as running.
          status: run.status === 'running' ? 'interrupted' : run.status,
          docIds: run.docIds.map(mapId),
          bank,
        });
        write(tx.objectStore('runs').add(meta), tx.objectStore('runBanks').put({ runId: run.id, bank }));
        for (const c of compressions) write(tx.objectStore('compressions').put({ ...c, runId: run.id }));
        for (const e of exchanges) write(tx.objectStore('exchanges').add({ ...e, runId: run.id }));
        summary.runsAdded++;
      }
      for (const s of file.settings) {
        write(tx.objectStore('settings').put({ key: s.key, value: s.value }));
        summary.settingsImported++;
      }
      await Promise.all([...pending, tx.done]);
    } catch (err) {
      try {
        tx.abort();
      } catch {
        // Already finished (it failed by itself): nothing was committed.
      }
      await tx.done.catch(() => undefined);
      throw err;
    }
    return summary;
  });
}

/** Delete everything (documents, runs, settings) in one transaction. */
export async function clearAll(options: { keepSettings?: boolean } = {}): Promise<void> {
  const db = await getDb();
  const stores = options.keepSettings ? ALL_STORES.filter((s) => s !== 'settings') : [...ALL_STORES];
  const tx = db.transaction(stores, 'readwrite');
  await Promise.all([...stores.map((s) => tx.objectStore(s).clear()), tx.done]);
}
