import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useDatabaseForTests, closeDb } from './db';
import {
  addDocument,
  deleteDocument,
  getDocument,
  listDocuments,
  deleteAllDocuments,
} from './documents';
import {
  appendCompression,
  completeRun,
  createRun,
  deleteRun,
  finishRun,
  getRun,
  listRuns,
  logExchange,
  markInterruptedRuns,
  type NewCompression,
} from './runs';
import { getSetting, setSetting } from './settings';
import { storageBreakdown } from './estimate';
import type { RunSettings } from './schema';

let n = 0;
beforeEach(async () => {
  await useDatabaseForTests(`precis-test-${++n}-${Date.now()}`);
});
afterEach(async () => {
  await closeDb();
});

const settings: RunSettings = { temperature: 1, topP: 1, maxTokens: 32, seed: 7, samplesPerContext: 2 };

function compression(index: number): NewCompression {
  return {
    index,
    context: Math.floor(index / 2),
    sample: index % 2,
    text: `compression ${index}`,
    ids: [1, 2, 3],
    logprobsNats: [-0.5, -1.25, -2],
    termNats: -3.75,
    truncated: false,
    empty: false,
  };
}

describe('documents', () => {
  it('adds, lists without texts, gets with text, deletes', async () => {
    const { doc, duplicate } = await addDocument({ title: 'Notes', kind: 'pasted', text: 'Hello world.\n\nSecond.' });
    expect(duplicate).toBe(false);
    expect(doc.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(doc.tokenEstimate).toBe(Math.ceil(21 / 4));
    expect(doc.textBytes).toBe(21);
    const list = await listDocuments();
    expect(list).toHaveLength(1);
    expect('text' in list[0]).toBe(false);
    const full = await getDocument(doc.id);
    expect(full?.text).toBe('Hello world.\n\nSecond.');
    await deleteDocument(doc.id);
    expect(await listDocuments()).toHaveLength(0);
    expect(await getDocument(doc.id)).toBeUndefined();
  });

  it('detects an identical text and returns the stored document', async () => {
    const a = await addDocument({ title: 'A', kind: 'text', text: 'same text' });
    const b = await addDocument({ title: 'B (other title)', kind: 'markdown', text: 'same text' });
    expect(b.duplicate).toBe(true);
    expect(b.doc.id).toBe(a.doc.id);
    expect(b.doc.title).toBe('A');
    expect(await listDocuments()).toHaveLength(1);
  });

  it('stores concurrent identical adds once', async () => {
    const results = await Promise.all([1, 2, 3].map(() => addDocument({ title: 'x', kind: 'pasted', text: 'race' })));
    expect(new Set(results.map((r) => r.doc.id)).size).toBe(1);
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
  });

  it('titles an untitled document by its first line', async () => {
    const { doc } = await addDocument({ title: '  ', kind: 'pasted', text: '\n  First line here\nmore' });
    expect(doc.title).toBe('First line here');
  });

  it('lists oldest first and clears', async () => {
    await addDocument({ title: '1', kind: 'pasted', text: 'one' });
    await new Promise((r) => setTimeout(r, 2));
    await addDocument({ title: '2', kind: 'pasted', text: 'two' });
    expect((await listDocuments()).map((d) => d.title)).toEqual(['1', '2']);
    await deleteAllDocuments();
    expect(await listDocuments()).toEqual([]);
  });
});

describe('runs', () => {
  async function newRun() {
    return createRun({
      question: 'What happened?',
      docIds: ['d1'],
      modelId: 'reference:stories260K',
      settings,
      bank: [
        { docId: 'd1', chunkIndex: 0, text: 'chunk zero' },
        { docId: 'd1', chunkIndex: 1, text: 'chunk one' },
      ],
    });
  }

  it('creates a running run and saves compressions one by one', async () => {
    const run = await newRun();
    expect(run.status).toBe('running');
    for (let i = 0; i < 4; i++) await appendCompression(run.id, compression(i));
    const got = await getRun(run.id);
    expect(got?.compressions.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    expect(got?.run.bank.map((b) => b.text)).toEqual(['chunk zero', 'chunk one']);
    const [listed] = await listRuns();
    expect(listed.bankSize).toBe(2);
    expect('bank' in listed).toBe(false);
    expect(got?.compressions[1]).toMatchObject({ context: 0, sample: 1, termNats: -3.75, runId: run.id });
  });

  it('keeps compressions of different runs apart, and sorts indices numerically', async () => {
    const a = await newRun();
    const b = await newRun();
    for (const i of [10, 2, 1]) await appendCompression(a.id, compression(i));
    await appendCompression(b.id, compression(0));
    expect((await getRun(a.id))?.compressions.map((c) => c.index)).toEqual([1, 2, 10]);
    expect((await getRun(b.id))?.compressions).toHaveLength(1);
  });

  it('refuses a compression for a missing run', async () => {
    await expect(appendCompression('nope', compression(0))).rejects.toMatchObject({ name: 'NotFoundError' });
  });

  it('completes a scored run: result and every term written together', async () => {
    const run = await newRun();
    for (let i = 0; i < 2; i++) await appendCompression(run.id, compression(i));
    const meta = await completeRun(run.id, { kind: 'measured', miBits: 0.5 }, [
      { index: 0, termNats: 0.25, pmiNats: [0.5, -0.25] },
      { index: 1, termNats: -0.1, pmiNats: [-0.1] },
    ]);
    expect(meta).toMatchObject({ status: 'done', error: null, miResult: { miBits: 0.5 } });
    const got = await getRun(run.id);
    expect(got?.compressions.map((c) => [c.termNats, c.pmiNats])).toEqual([
      [0.25, [0.5, -0.25]],
      [-0.1, [-0.1]],
    ]);
    await expect(completeRun('nope', null, [])).rejects.toMatchObject({ name: 'NotFoundError' });
  });

  it('finishes with a result, lists newest first', async () => {
    const a = await newRun();
    await new Promise((r) => setTimeout(r, 2));
    const b = await newRun();
    const done = await finishRun(a.id, 'done', { miResult: { miBits: 0.75 } });
    expect(done.status).toBe('done');
    expect(done.finishedAt).not.toBeNull();
    await finishRun(b.id, 'failed', { error: { name: 'ContextTooLongError', message: 'too long' } });
    const runs = await listRuns();
    expect(runs.map((r) => r.id)).toEqual([b.id, a.id]);
    expect(runs[1].miResult).toEqual({ miBits: 0.75 });
    expect(runs[0].error?.name).toBe('ContextTooLongError');
  });

  it('marks runs left running as interrupted, keeping their compressions', async () => {
    const a = await newRun();
    const b = await newRun();
    await appendCompression(a.id, compression(0));
    await appendCompression(a.id, compression(1));
    await finishRun(b.id, 'done');
    // A reload: the connection goes away and the app starts again.
    await closeDb();
    expect(await markInterruptedRuns()).toEqual([a.id]);
    const got = await getRun(a.id);
    expect(got?.run.status).toBe('interrupted');
    expect(got?.compressions).toHaveLength(2);
    expect((await getRun(b.id))?.run.status).toBe('done');
    // Resume: back to running, add the rest.
    await finishRun(a.id, 'running');
    await appendCompression(a.id, compression(2));
    expect((await getRun(a.id))?.run).toMatchObject({ status: 'running', finishedAt: null });
  });

  it('logs exchanges and deletes a run with everything under it', async () => {
    const a = await newRun();
    const b = await newRun();
    await appendCompression(a.id, compression(0));
    const ex = await logExchange(a.id, {
      host: 'http://127.0.0.1:8787',
      model: 'fake',
      at: Date.now(),
      messages: [{ role: 'user', content: 'q' }],
      response: 'answer',
      usage: { promptTokens: 3, completionTokens: 1, totalTokens: 4 },
    });
    expect(ex.seq).toBeTypeOf('number');
    await logExchange(b.id, { host: 'h', model: 'm', at: 0, messages: [], response: '', usage: null });
    expect((await getRun(a.id))?.exchanges[0].response).toBe('answer');
    await deleteRun(a.id);
    expect(await getRun(a.id)).toBeUndefined();
    const rest = await getRun(b.id);
    expect(rest?.exchanges).toHaveLength(1);
    expect(await listRuns()).toHaveLength(1);
  });
});

describe('settings and estimate', () => {
  it('gets and sets values', async () => {
    expect(await getSetting('x')).toBeUndefined();
    await setSetting('x', { a: 1 });
    expect(await getSetting<{ a: number }>('x')).toEqual({ a: 1 });
  });

  it('counts documents and runs', async () => {
    await addDocument({ title: 't', kind: 'pasted', text: 'abcd' });
    const run = await createRun({ question: 'q', docIds: [], modelId: 'm', settings, bank: [] });
    await appendCompression(run.id, compression(0));
    const b = await storageBreakdown();
    expect(b.documentCount).toBe(1);
    expect(b.runCount).toBe(1);
    expect(b.runsBytes).toBeGreaterThan(100);
  });
});

describe('defaultTitle', () => {
  it('never splits a surrogate pair', async () => {
    const { defaultTitle } = await import('./documents');
    for (let k = 50; k < 60; k++) {
      const title = defaultTitle('a'.repeat(k) + '😀'.repeat(20));
      expect(title.endsWith('…')).toBe(true);
      expect(/[\uD800-\uDBFF]…$/.test(title)).toBe(false);
    }
  });
});
