import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeDb, getDb, onDbEvent, useDatabaseForTests, type DbEvent } from './db';
import { addDocument, listDocuments, getDocument } from './documents';
import { appendCompression, createRun, finishRun, getRun, listRuns, logExchange } from './runs';
import { getSetting, setSetting } from './settings';
import { clearAll, exportLibrary, exportRunFile, importJson } from './export';
import { EXPORT_SCHEMA_VERSION, parseExport } from './export-format';

const exportText = async () => (await exportLibrary()).text();
/** Lines of an export without its header's date. */
const linesOf = (text: string) => text.trimEnd().split('\n').map((l, i) => (i === 0 ? { ...JSON.parse(l), exportedAt: '' } : JSON.parse(l)));
/** What the run flow stores as a result (StoredMiResult). */
const miResult = {
  kind: 'measured',
  summary: { miNats: 1, miBits: 1.44, miNatsClipped: 1, miBitsClipped: 1.44, ceilingNats: 0.69, ceilingBits: 1, stdErrNats: 0.1, stdErrBits: 0.14, meanTokens: 1, bitsPerToken: 1.44, n: 2, m: 1, count: 2 },
  warnings: [],
  flags: { truncated: 0, empty: 0 },
  modelId: 'reference:stories260K',
  scorerModelId: 'reference:stories260K',
  promptStyle: 'plain',
  templateVersion: 'compress-v1',
  promptTokens: [12, 9],
  timings: { generationMs: 1, scoringMs: 2 },
  counters: { generation: { prefillTokens: 1, decodeSteps: 2, forwardCalls: 3 }, scoring: { prefillTokens: 1, decodeSteps: 0, forwardCalls: 1 } },
};

let n = 0;
beforeEach(async () => {
  await useDatabaseForTests(`precis-export-${++n}-${Date.now()}`);
});
afterEach(async () => {
  await closeDb();
});

async function seed() {
  const a = await addDocument({ title: 'Alpha', kind: 'markdown', text: '# Alpha\n\nbody', sizeBytes: 20 });
  const b = await addDocument({ title: 'Beta', kind: 'pdf', text: 'beta text', mime: 'application/pdf' });
  const run = await createRun({
    question: 'Why?',
    docIds: [a.doc.id, b.doc.id],
    modelId: 'reference:stories260K',
    settings: { temperature: 1, topP: 1, maxTokens: 8, seed: 1, samplesPerContext: 1 },
    bank: [
      { docId: a.doc.id, chunkIndex: 0, text: '# Alpha\n\nbody' },
      { docId: b.doc.id, chunkIndex: 0, text: 'beta text' },
    ],
  });
  await appendCompression(run.id, {
    index: 0, context: 0, sample: 0, text: 'c', ids: [5], logprobsNats: [-1], truncated: false, empty: false,
  });
  await logExchange(run.id, {
    host: 'https://api.example.com', model: 'gpt', at: 1, messages: [{ role: 'user', content: 'Why? c' }],
    response: 'Because.', usage: null,
  });
  await setSetting('library.open', a.doc.id);
  await setSetting('predictor.apiKey', 'sk-secret-123');
  await setSetting('ui', { theme: 'dark', openaiApiKey: 'sk-nested' });
  return { a, b, run };
}

describe('export and import', () => {
  it('round-trips the library: export, clear, import gives the same export', async () => {
    const { run } = await seed();
    await finishRun(run.id, 'done', { miResult });
    const json = await exportText();
    expect(json).not.toContain('sk-secret');
    expect(json).not.toContain('sk-nested');
    expect(JSON.parse(json.split('\n')[0]).schemaVersion).toBe(EXPORT_SCHEMA_VERSION);
    await clearAll();
    expect(await listDocuments()).toEqual([]);
    const summary = await importJson(json);
    // 'ui' is not a setting this version knows: it is left out, and said so.
    expect(summary).toMatchObject({ documentsAdded: 2, runsAdded: 1, documentsAlreadyPresent: 0, settingsImported: 1, settingsDropped: 1 });
    const first = linesOf(json).filter((l) => !(l.setting && l.setting.key === 'ui'));
    expect(linesOf(await exportText())).toEqual(first);
    expect(await getSetting('predictor.apiKey')).toBeUndefined();
    expect(await getSetting('ui')).toBeUndefined();
  });

  it('imports into a non-empty library without duplicates', async () => {
    const { a } = await seed();
    const json = await exportText();
    const summary = await importJson(json);
    expect(summary).toMatchObject({ documentsAdded: 0, documentsAlreadyPresent: 2, runsAdded: 0, runsAlreadyPresent: 1 });
    expect(await listDocuments()).toHaveLength(2);
    expect((await getDocument(a.doc.id))?.text).toBe('# Alpha\n\nbody');
  });

  it('maps run document ids onto documents already present with the same text', async () => {
    const { run } = await seed();
    const json = await exportText();
    await clearAll();
    const again = await addDocument({ title: 'Alpha again', kind: 'pasted', text: '# Alpha\n\nbody' });
    await importJson(json);
    const got = await getRun(run.id);
    expect(got?.run.docIds[0]).toBe(again.doc.id);
    expect(got?.run.bank[0].docId).toBe(again.doc.id);
    expect(got?.compressions).toHaveLength(1);
    expect(got?.exchanges[0].response).toBe('Because.');
  });

  it('exports one run without documents or settings', async () => {
    const { run } = await seed();
    const text = await (await exportRunFile(run.id)).text();
    const file = await parseExport(text);
    expect(file.scope).toBe('run');
    expect(JSON.parse(text.split('\n')[0]).contains).toMatch(/raw passages/);
    expect(file.documents).toEqual([]);
    expect(file.settings).toEqual([]);
    expect(file.runs[0].compressions).toHaveLength(1);
    await clearAll();
    await importJson(text);
    expect((await listRuns()).map((r) => r.id)).toEqual([run.id]);
  });

  it('imports a run saved while running as interrupted', async () => {
    const { run } = await seed();
    const json = await (await exportRunFile(run.id)).text();
    await clearAll();
    await importJson(json);
    expect((await getRun(run.id))?.run.status).toBe('interrupted');
  });
});

describe('validation', () => {
  const err = async (json: string) => {
    try {
      await parseExport(json);
    } catch (e) {
      return e as Error & { path?: string | null };
    }
    throw new Error('expected a failure');
  };

  it('says when the file is not JSON', async () => {
    const e = await err('hello, not json');
    expect(e.name).toBe('ImportFormatError');
    expect(e.message).toMatch(/not JSON/);
  });

  it('says when JSON is not an export', async () => {
    expect((await err('{"a":1}')).message).toMatch(/not a Précis export/);
  });

  it('says when the schema is from the future', async () => {
    const e = await err(JSON.stringify({ format: 'precis-export', schemaVersion: 99, documents: [] }));
    expect(e.message).toMatch(/newer version.*schema version 99/);
  });

  it('names the first bad field with its path', async () => {
    const e = await err(
      JSON.stringify({
        format: 'precis-export',
        schemaVersion: 1,
        documents: [{ id: 'x', title: 't', createdAt: 1, kind: 'text' }],
      }),
    );
    expect(e.message).toContain('documents[0].text is missing');
    expect(e.path).toBe('documents[0].text');
    const status = await err(
      JSON.stringify({
        format: 'precis-export',
        schemaVersion: 1,
        runs: [{ run: { id: 'r', question: 'q', modelId: 'm', createdAt: 1, settings: {}, status: 'weird', docIds: [], bank: [] }, compressions: [] }],
      }),
    );
    expect(status.path).toBe('runs[0].run.status');
  });

  it('leaves the library untouched when an import fails', async () => {
    await addDocument({ title: 'keep', kind: 'pasted', text: 'keep me' });
    await expect(importJson('{"format":"precis-export","schemaVersion":3}')).rejects.toMatchObject({ name: 'ImportFormatError' });
    expect(await listDocuments()).toHaveLength(1);
  });
});

describe('quota and tabs', () => {
  it('turns a quota failure into StorageQuotaError and writes nothing', async () => {
    const proto = IDBObjectStore.prototype;
    const original = proto.add;
    proto.add = function () {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    };
    try {
      await expect(addDocument({ title: 'big', kind: 'pasted', text: 'big' })).rejects.toMatchObject({
        name: 'StorageQuotaError',
      });
    } finally {
      proto.add = original;
    }
    expect(await listDocuments()).toEqual([]);
    const db = await getDb();
    expect(await db.count('docTexts')).toBe(0);
  });

  it('closes on versionchange so another tab can upgrade, and says to reload', async () => {
    const events: DbEvent[] = [];
    const off = onDbEvent((e) => events.push(e));
    const db = await getDb();
    const name = db.name;
    const upgraded = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(name, db.version + 1);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    upgraded.close();
    off();
    expect(events.map((e) => e.kind)).toEqual(['closed']);
    await expect(getDb()).rejects.toMatchObject({ name: 'DatabaseClosedError' });
  });
});
