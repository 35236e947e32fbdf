// @vitest-environment happy-dom
import 'fake-indexeddb/auto';
import { File as NodeFile } from 'node:buffer';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { closeDb, useDatabaseForTests } from '../storage/db';
import { appendCompression, createRun } from '../storage/runs';
import { LibraryStore } from './library.svelte';

let n = 0;
beforeEach(async () => {
  await useDatabaseForTests(`precis-state-${++n}-${Date.now()}`);
  URL.createObjectURL = vi.fn(() => 'blob:x');
  URL.revokeObjectURL = vi.fn();
});
afterEach(async () => {
  await closeDb();
});

const file = (text: string | Uint8Array, name: string) => new NodeFile([text], name) as unknown as File;

describe('LibraryStore', () => {
  it('adds pasted text, opens and selects it, and finds it after a reload', async () => {
    const lib = new LibraryStore();
    await lib.init();
    const doc = await lib.addPasted('Some pasted words.\n\nMore.', 'Pasted');
    expect(doc?.title).toBe('Pasted');
    expect(lib.documents).toHaveLength(1);
    expect(lib.openId).toBe(doc?.id);
    expect(lib.openText).toBe('Some pasted words.\n\nMore.');
    expect(lib.selected.has(doc!.id)).toBe(true);
    await new Promise((r) => setTimeout(r, 20)); // selection is saved in the background

    await closeDb();
    const again = new LibraryStore();
    await again.init();
    expect(again.documents.map((d) => d.title)).toEqual(['Pasted']);
    expect(again.selected.has(doc!.id)).toBe(true);
    expect(again.openText).toBe('Some pasted words.\n\nMore.');
  });

  it('reports an empty paste, a duplicate, and bad files without stopping the batch', async () => {
    const lib = new LibraryStore();
    await lib.init();
    expect(await lib.addPasted('   ')).toBeNull();
    expect(lib.errors[0].name).toBe('EmptyTextError');
    await lib.addPasted('same', 'one');
    await lib.addPasted('same', 'two');
    expect(lib.documents).toHaveLength(1);
    expect(lib.notices.at(-1)).toMatch(/already in the library as “one”/);

    const added = await lib.importFiles([
      file('', 'empty.txt'),
      file(new Uint8Array([0, 1, 2, 3]), 'bin.txt'),
      file('real text', 'good.txt'),
      file('x', 'sheet.xlsx'),
    ]);
    expect(added.map((d) => d.title)).toEqual(['good']);
    expect(lib.errors.map((e) => e.name)).toEqual(['EmptyTextError', 'EmptyFileError', 'BinaryFileError', 'UnsupportedFileError']);
    expect(lib.importing).toBeNull();
    expect(lib.openDocument?.title).toBe('good');
  });

  it('selects on open, never deselects on open, toggles with toggle', async () => {
    const lib = new LibraryStore();
    await lib.init();
    const a = await lib.addPasted('a text', 'a');
    const b = await lib.addPasted('b text', 'b');
    await lib.open(a!.id);
    await lib.open(a!.id);
    expect([...lib.selected].sort()).toEqual([a!.id, b!.id].sort());
    lib.toggle(a!.id);
    expect(lib.selected.has(a!.id)).toBe(false);
    await lib.delete(b!.id);
    expect(lib.selected.size).toBe(0);
    expect(lib.documents.map((d) => d.title)).toEqual(['a']);
  });

  it('marks interrupted runs at start and deletes runs', async () => {
    const run = await createRun({
      question: 'q', docIds: [], modelId: 'm', bank: [],
      settings: { temperature: 1, topP: 1, maxTokens: 4, seed: 1, samplesPerContext: 1 },
    });
    await appendCompression(run.id, { index: 0, context: 0, sample: 0, text: 't', ids: [1], logprobsNats: [-1], truncated: false, empty: false });
    const lib = new LibraryStore();
    await lib.init();
    expect(lib.interruptedRunIds).toEqual([run.id]);
    expect(lib.runs[0].status).toBe('interrupted');
    await lib.deleteRun(run.id);
    expect(lib.runs).toEqual([]);
  });

  it('exports, clears and imports back the same library; reports a bad import', async () => {
    const lib = new LibraryStore();
    await lib.init();
    await lib.addPasted('first document', 'first');
    await lib.importFiles([file('# Title\n\nbody', 'doc.md')]);
    const blob = await lib.exportAll();
    expect(blob).toBeTruthy();
    const json = await blob!.text();
    await lib.deleteAll();
    expect(lib.documents).toEqual([]);
    await lib.importJson(file(json!, 'export.json'));
    expect(lib.documents.map((d) => d.title)).toEqual(['first', 'Title']);
    expect(lib.notices.at(-1)).toMatch(/2 documents and 0 runs added/);
    await lib.importJson(file('not json', 'bad.json'));
    expect(lib.errors.at(-1)?.name).toBe('ImportFormatError');
    expect(lib.documents).toHaveLength(2);
  });

  it('re-measures storage when documents or runs change, once the figures were asked for', async () => {
    const lib = new LibraryStore();
    await lib.init();
    await lib.refreshStorage();
    expect(lib.storage?.documentCount).toBe(0);
    await lib.addPasted('counted text', 'counted');
    await vi.waitFor(() => expect(lib.storage?.documentCount).toBe(1));
    expect(lib.storage!.documentsBytes).toBeGreaterThan(0);
    await lib.delete(lib.documents[0].id);
    await vi.waitFor(() => expect(lib.storage?.documentCount).toBe(0));
  });
});
