/**
 * Export the library (or one run) to one JSON document, and import such a document.
 *
 * An import is all or nothing: it is validated first, hashes are computed before the
 * transaction, and every write happens in one transaction over all stores. Documents already
 * present (same text) are not stored twice; runs already present (same id) are kept as they are.
 */
import { getDb } from './db';
import { mapQuota, NotFoundError } from './errors';
import { buildExport, parseExport, type ExportedRun, type ExportFile } from './export-format';
import { prepareDocument } from './documents';
import { getRun, runMeta } from './runs';
import { isSecretKey } from './settings';
import { ALL_STORES, type DocumentRecord } from './schema';

export { parseExport, EXPORT_SCHEMA_VERSION, type ExportFile } from './export-format';

/** The whole library: documents with texts, runs with compressions and exchanges, settings. */
export async function exportAll(): Promise<ExportFile> {
  const db = await getDb();
  const tx = db.transaction(ALL_STORES, 'readonly');
  const [metas, texts, runs, banks, compressions, exchanges, settings] = await Promise.all([
    tx.objectStore('documents').index('by-created').getAll(),
    tx.objectStore('docTexts').getAll(),
    tx.objectStore('runs').index('by-created').getAll(),
    tx.objectStore('runBanks').getAll(),
    tx.objectStore('compressions').getAll(),
    tx.objectStore('exchanges').getAll(),
    tx.objectStore('settings').getAll(),
  ]);
  await tx.done;
  const textById = new Map(texts.map((t) => [t.id, t.text]));
  const documents: DocumentRecord[] = metas.map((m) => ({ ...m, text: textById.get(m.id) ?? '' }));
  const bankById = new Map(banks.map((b) => [b.runId, b.bank]));
  const exported: ExportedRun[] = runs.map(({ bankSize: _n, ...run }) => ({
    run: { ...run, bank: bankById.get(run.id) ?? [] },
    compressions: compressions.filter((c) => c.runId === run.id),
    exchanges: exchanges.filter((e) => e.runId === run.id).map(({ seq: _seq, ...e }) => e),
  }));
  return buildExport('library', documents, exported, settings);
}

/** One run with its compressions and exchanges (its bank holds the chunk texts it used). */
export async function exportRun(runId: string): Promise<ExportFile> {
  const details = await getRun(runId);
  if (!details) throw new NotFoundError('The run');
  const { run, compressions, exchanges } = details;
  return buildExport('run', [], [{ run, compressions, exchanges: exchanges.map(({ seq: _s, ...e }) => e) }], []);
}

export function exportToJson(file: ExportFile): string {
  return JSON.stringify(file);
}

export interface ImportSummary {
  documentsAdded: number;
  documentsAlreadyPresent: number;
  runsAdded: number;
  runsAlreadyPresent: number;
  settingsImported: number;
}

/** Validate and import an export file's text. Throws `ImportFormatError` with what is wrong. */
export async function importJson(json: string): Promise<ImportSummary> {
  const file = parseExport(json);
  // Recompute hashes and sizes rather than trusting the file; done before the transaction.
  const prepared = await Promise.all(
    file.documents.map(async (d) => {
      const fresh = await prepareDocument({ title: d.title, kind: d.kind, text: d.text, mime: d.mime, sizeBytes: d.sizeBytes }, d.createdAt);
      return { ...fresh, id: d.id };
    }),
  );
  const db = await getDb();
  return mapQuota('The import', async () => {
    const tx = db.transaction(ALL_STORES, 'readwrite');
    const docs = tx.objectStore('documents');
    const summary: ImportSummary = {
      documentsAdded: 0,
      documentsAlreadyPresent: 0,
      runsAdded: 0,
      runsAlreadyPresent: 0,
      settingsImported: 0,
    };
    const idMap = new Map<string, string>();
    const pending: Promise<unknown>[] = [];
    // Mark each write handled now; Promise.all below still sees a failure and the transaction aborts.
    const writes = {
      push: (...ps: Promise<unknown>[]) => {
        for (const p of ps) {
          p.catch(() => undefined);
          pending.push(p);
        }
      },
    };
    for (const rec of prepared) {
      const same = await docs.index('by-hash').get(rec.hash);
      if (same) {
        idMap.set(rec.id, same.id);
        summary.documentsAlreadyPresent++;
        continue;
      }
      // An id taken by a different text gets a fresh id; runs follow the mapping.
      const id = (await docs.get(rec.id)) ? crypto.randomUUID() : rec.id;
      idMap.set(rec.id, id);
      const { text, ...meta } = rec;
      writes.push(docs.add({ ...meta, id }), tx.objectStore('docTexts').put({ id, text }));
      summary.documentsAdded++;
    }
    const mapId = (id: string) => idMap.get(id) ?? id;
    for (const { run, compressions, exchanges } of file.runs) {
      if (await tx.objectStore('runs').get(run.id)) {
        summary.runsAlreadyPresent++;
        continue;
      }
      const bank = run.bank.map((b) => ({ docId: mapId(b.docId), chunkIndex: b.chunkIndex, text: b.text }));
      const meta = runMeta({
        ...run,
        status: run.status === 'running' ? 'interrupted' : run.status,
        docIds: run.docIds.map(mapId),
        bank,
        miResult: run.miResult ?? null,
        error: run.error ?? null,
        finishedAt: run.finishedAt ?? null,
        updatedAt: run.updatedAt ?? run.createdAt,
      });
      writes.push(tx.objectStore('runs').add(meta), tx.objectStore('runBanks').put({ runId: run.id, bank }));
      for (const c of compressions) writes.push(tx.objectStore('compressions').put({ ...c, runId: run.id }));
      for (const e of exchanges) {
        const { seq: _seq, ...rest } = e;
        writes.push(tx.objectStore('exchanges').add({ ...rest, runId: run.id }));
      }
      summary.runsAdded++;
    }
    for (const s of file.settings) {
      if (isSecretKey(s.key)) continue;
      writes.push(tx.objectStore('settings').put({ key: s.key, value: s.value }));
      summary.settingsImported++;
    }
    await Promise.all([...pending, tx.done]);
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
