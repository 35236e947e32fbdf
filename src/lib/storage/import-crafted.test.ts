/**
 * Crafted export files (issue 9, "Why"): each must be refused with an `ImportFormatError` that
 * names the path of the bad field, and leave the library exactly as it was. Real IndexedDB code
 * on fake-indexeddb.
 */
import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeDb, useDatabaseForTests } from './db';
import { addDocument } from './documents';
import { appendCompression, createRun, finishRun, logExchange } from './runs';
import { getSetting, listSettings, setSetting } from './settings';
import { clearAll, exportLibrary, importJson } from './export';

let n = 0;
beforeEach(async () => {
  await useDatabaseForTests(`precis-crafted-${++n}-${Date.now()}`);
});
afterEach(async () => {
  await closeDb();
});

const settings = { temperature: 1, topP: 1, maxTokens: 8, seed: 1, samplesPerContext: 1 };
const miResult = {
  kind: 'measured',
  summary: { miNats: 1, miBits: 1.44, miNatsClipped: 1, miBitsClipped: 1.44, ceilingNats: 0.69, ceilingBits: 1, stdErrNats: null, stdErrBits: null, meanTokens: 1, bitsPerToken: 1.44, n: 2, m: 1, count: 2 },
  modelId: 'reference:stories260K',
  promptStyle: 'plain',
  templateVersion: 'compress-v1',
  promptTokens: [3, 3],
  timings: { generationMs: 1, scoringMs: 1 },
  counters: { generation: { prefillTokens: 1, decodeSteps: 1, forwardCalls: 1 }, scoring: { prefillTokens: 1, decodeSteps: 0, forwardCalls: 1 } },
};

/** Two documents, two runs (each with a compression and an exchange), two settings. */
async function seed(): Promise<void> {
  const a = await addDocument({ title: 'Alpha', kind: 'pasted', text: 'alpha text' });
  const b = await addDocument({ title: 'Beta', kind: 'pasted', text: 'beta text' });
  for (const q of ['first?', 'second?']) {
    const run = await createRun({
      question: q,
      docIds: [a.doc.id, b.doc.id],
      modelId: 'reference:stories260K',
      settings,
      bank: [
        { docId: a.doc.id, chunkIndex: 0, text: 'alpha text' },
        { docId: b.doc.id, chunkIndex: 0, text: 'beta text' },
      ],
    });
    await appendCompression(run.id, { index: 0, context: 0, sample: 0, text: 'c', ids: [5], logprobsNats: [-1], truncated: false, empty: false });
    await logExchange(run.id, { host: 'https://api.example.com', model: 'gpt', at: 1, messages: [{ role: 'user', content: 'c' }], response: 'ok', usage: null });
    await finishRun(run.id, 'done', { miResult });
  }
  await setSetting('library.open', a.doc.id);
  await setSetting('library.selected', [a.doc.id]);
}

/** The library as an export's records (header date left out): what "unchanged" compares. */
async function snapshot(): Promise<unknown[]> {
  const text = await (await exportLibrary()).text();
  return text.trimEnd().split('\n').slice(1).map((l) => JSON.parse(l));
}

type Line = Record<string, any>;

/** The library's export as parsed lines: header first. */
async function exportLines(): Promise<Line[]> {
  const text = await (await exportLibrary()).text();
  return text.trimEnd().split('\n').map((l) => JSON.parse(l) as Line);
}

const ndjson = (lines: Line[]) => lines.map((l) => JSON.stringify(l)).join('\n') + '\n';

/** The same records in the schema-1 layout (one JSON object). */
function legacy(lines: Line[]): string {
  const [header, ...rest] = lines;
  return JSON.stringify({
    format: header.format,
    schemaVersion: 1,
    exportedAt: header.exportedAt,
    scope: header.scope,
    documents: rest.filter((l) => l.document).map((l) => l.document),
    runs: rest.filter((l) => l.run).map((l) => l.run),
    settings: rest.filter((l) => l.setting).map((l) => l.setting),
  });
}

const runLines = (lines: Line[]) => lines.filter((l) => l.run);

const crafted: [string, (lines: Line[]) => void, string][] = [
  ['exchanges: [null] in the second run', (l) => (runLines(l)[1].run.exchanges = [null]), 'runs[1].exchanges[0]'],
  ['miBits as a string', (l) => (runLines(l)[0].run.run.miResult.summary.miBits = '1.44'), 'runs[0].run.miResult.summary.miBits'],
  ['messages not a list', (l) => (runLines(l)[1].run.exchanges[0].messages = 'hello'), 'runs[1].exchanges[0].messages'],
  [
    'a 10,000-entry bank',
    (l) => (runLines(l)[0].run.run.bank = Array.from({ length: 10_000 }, (_, i) => ({ docId: 'x', chunkIndex: i, text: 't' }))),
    'runs[0].run.bank',
  ],
  ['samplesPerContext: 100000', (l) => (runLines(l)[1].run.run.settings.samplesPerContext = 100_000), 'runs[1].run.settings.samplesPerContext'],
  ['a compression outside the bank', (l) => (runLines(l)[0].run.compressions[0].context = 7), 'runs[0].compressions[0].context'],
  ['a document text that is a number', (l) => (l[2].document.text = 42), 'documents[1].text'],
  ['a known setting with a value of the wrong type', (l) => (l.find((x) => x.setting?.key === 'library.selected')!.setting.value = 'all'), 'settings[1].value'],
];

describe('crafted exports are refused by path and change nothing', () => {
  for (const layout of ['ndjson', 'schema 1'] as const) {
    for (const [name, craft, path] of crafted) {
      it(`${name} (${layout})`, async () => {
        await seed();
        const lines = await exportLines();
        craft(lines);
        // Import over a library that already holds something else, and over an empty one.
        const extra = await addDocument({ title: 'Kept', kind: 'pasted', text: 'kept text' });
        const before = await snapshot();
        const file = layout === 'ndjson' ? ndjson(lines) : legacy(lines);
        const err = (await importJson(file).catch((e: unknown) => e)) as Error & { path?: string };
        expect(err).toMatchObject({ name: 'ImportFormatError', path });
        expect(err.message).toContain(path);
        expect(err.message).toMatch(/Nothing was changed/);
        expect(await snapshot()).toEqual(before);

        await clearAll();
        await expect(importJson(file)).rejects.toMatchObject({ name: 'ImportFormatError', path });
        expect(await snapshot()).toEqual([]);
        expect(extra.doc.id).toBeTruthy();
      });
    }
  }

  it('drops unknown setting keys and secrets, and says how many', async () => {
    await seed();
    const lines = await exportLines();
    lines.push({ setting: { key: 'evil.flag', value: { run: 'rm -rf' } } }, { setting: { key: 'predictor.apiKey', value: 'sk-x' } });
    await clearAll();
    const summary = await importJson(ndjson(lines));
    expect(summary).toMatchObject({ settingsImported: 2, settingsDropped: 2, documentsAdded: 2, runsAdded: 2 });
    expect((await listSettings()).map((s) => s.key).sort()).toEqual(['library.open', 'library.selected']);
    expect(await getSetting('evil.flag')).toBeUndefined();
  });

  it('drops unknown fields of records (rebuilt from a whitelist)', async () => {
    await seed();
    const lines = await exportLines();
    lines[1].document.injected = '<img src=x onerror=alert(1)>';
    runLines(lines)[0].run.run.settings.extraKnob = 99;
    runLines(lines)[0].run.compressions[0].html = '<b>x</b>';
    await clearAll();
    await importJson(ndjson(lines));
    const text = await (await exportLibrary()).text();
    expect(text).not.toMatch(/injected|extraKnob|"html"/);
  });

  it('aborts the whole transaction when a write fails half-way', async () => {
    await seed();
    const file = ndjson(await exportLines());
    await clearAll();
    const kept = await addDocument({ title: 'Kept', kind: 'pasted', text: 'kept text' });
    const before = await snapshot();
    // The first run is written, the second one's record is refused by the store.
    const proto = IDBObjectStore.prototype;
    const original = proto.add;
    let runsAdded = 0;
    proto.add = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['add']>) {
      if (this.name === 'runs' && ++runsAdded === 2) throw new DOMException('refused', 'DataError');
      return original.apply(this, args);
    };
    try {
      await expect(importJson(file)).rejects.toMatchObject({ name: 'DataError' });
    } finally {
      proto.add = original;
    }
    expect(await snapshot()).toEqual(before);
    expect(kept.duplicate).toBe(false);
  });

  it('round-trips a large library through the streamed export', async () => {
    const paragraph = 'The survey counted otters, herons and one very patient heron-watcher. '.repeat(200);
    for (let i = 0; i < 40; i++) await addDocument({ title: `Doc ${i}`, kind: 'text', text: `${i}\n${paragraph.repeat(20)}` });
    const blob = await exportLibrary();
    expect(blob.size).toBeGreaterThan(10 * 1024 * 1024);
    const before = await snapshot();
    await clearAll();
    const summary = await importJson(await blob.text());
    expect(summary.documentsAdded).toBe(40);
    expect(await snapshot()).toEqual(before);
  }, 120_000);
});
