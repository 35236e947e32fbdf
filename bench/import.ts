/**
 * Import benchmark: a 10 MB text document made in memory is read as a stream (the browser code
 * path: File.stream() + TextDecoderStream), hashed, chunked and written to IndexedDB.
 *
 * Node has no IndexedDB: the write goes to fake-indexeddb (an in-memory implementation), so
 * that figure measures our transaction code and structured cloning, not a disk.
 * Token counts use the cheap estimate (chars / 4); with the stories260K fixture present, the
 * reference tokenizer is also timed on the first 1 MB.
 *
 * Then the pathological files of issue 9 (e2e/fixtures/pathological.ts): each is imported
 * (read, decode, extract) and chunked, with the chars/4 estimate and, when the fixture is
 * present, the stories260K tokenizer.
 *
 * Run: npx tsx bench/import.ts [sizeMB]
 */
import 'fake-indexeddb/auto';
import { existsSync, readFileSync } from 'node:fs';
import { File } from 'node:buffer';
import { resolve } from 'node:path';
import { chunkText } from '../src/lib/core/chunking';
import { readTextFile } from '../src/lib/import/text';
import { importFile } from '../src/lib/import/import-file';
import type { PdfLib } from '../src/lib/import/pdf';
import { pathologicalFiles } from '../e2e/fixtures/pathological';
import { estimateTokens, sha256Hex } from '../src/lib/import/hash';
import { addDocument, closeDb, getDocument, createRun, appendCompression } from '../src/lib/storage';
import { parseTokenizer } from '../workers/engines/reference/tokenizer';

const sizeMB = Number(process.argv[2] ?? 10);
const BUDGET_TOKENS = 400;

function makeText(bytes: number): string {
  const sentences = [
    'The survey team walked the river from the mill to the weir.',
    'Water levels rose by forty centimetres after the storm on Tuesday.',
    'Three otters were seen near the footbridge, which is unusual for March.',
    'Samples from the eastern bank were cloudy; the western ones were clear.',
    'Nobody could explain the sudden drop in temperature at dusk.',
  ];
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const para = Array.from({ length: 3 + (i % 5) }, (_, j) => sentences[(i + j) % sentences.length]).join(' ') + '\n\n';
    parts.push(para);
    size += para.length;
  }
  return parts.join('').slice(0, bytes);
}

async function time<T>(label: string, fn: () => Promise<T> | T): Promise<[T, number]> {
  const t0 = performance.now();
  const out = await fn();
  const ms = performance.now() - t0;
  console.log(`${label.padEnd(44)} ${ms.toFixed(0).padStart(6)} ms`);
  return [out, ms];
}

const text = makeText(sizeMB * 1024 * 1024);
// Many 64 KB parts, as a browser's file stream delivers them.
const bytes = new TextEncoder().encode(text);
const parts: Uint8Array[] = [];
for (let i = 0; i < bytes.length; i += 65536) parts.push(bytes.subarray(i, i + 65536));
const file = new File(parts, 'bench.txt') as unknown as globalThis.File;

console.log(`Document: ${(bytes.length / 1024 / 1024).toFixed(1)} MB, ${text.length.toLocaleString()} characters`);
const [read, readMs] = await time('read (stream + TextDecoderStream)', () => readTextFile(file));
if (read !== text) throw new Error('read text differs');
const [, hashMs] = await time('hash (SHA-256)', () => sha256Hex(read));
const [chunks, chunkMs] = await time(`chunk (chars/4, budget ${BUDGET_TOKENS})`, () => chunkText(read, estimateTokens, BUDGET_TOKENS));
const [, writeMs] = await time('write document (fake-indexeddb)', () => addDocument({ title: 'bench', kind: 'text', text: read }));
const [, readBackMs] = await time('read document back (fake-indexeddb)', async () => {
  const list = await import('../src/lib/storage').then((m) => m.listDocuments());
  return getDocument(list[0].id);
});
const [, bankMs] = await time(`write run with ${chunks.length} chunks as bank`, () =>
  createRun({
    question: 'q',
    docIds: [],
    modelId: 'bench',
    settings: { temperature: 1, topP: 1, maxTokens: 64, seed: 1, samplesPerContext: 1 },
    bank: chunks.map((c) => ({ docId: 'd', chunkIndex: c.index, text: c.text })),
  }),
);
const run = (await import('../src/lib/storage').then((m) => m.listRuns()))[0];
const [, compMs] = await time('append 200 compressions one by one', async () => {
  for (let i = 0; i < 200; i++) {
    await appendCompression(run.id, {
      index: i, context: i, sample: 0, text: 'x'.repeat(200), ids: Array.from({ length: 64 }, (_, k) => k),
      logprobsNats: Array.from({ length: 64 }, () => -1.5), truncated: false, empty: false,
    });
  }
});
console.log(`chunks: ${chunks.length}, largest ${Math.max(...chunks.map((c) => c.tokens))} tokens`);
console.log(
  `TOTAL read + hash + chunk + write: ${(readMs + hashMs + chunkMs + writeMs).toFixed(0)} ms` +
    ` (bank ${bankMs.toFixed(0)} ms, read back ${readBackMs.toFixed(0)} ms, 200 compressions ${compMs.toFixed(0)} ms)`,
);

const modelsDir = resolve(process.env.PRECIS_MODELS_DIR ?? resolve(import.meta.dirname, '../../shared/models'), 'stories260K');
const tokPath = resolve(modelsDir, 'tok512.bin');
if (existsSync(tokPath)) {
  const buf = readFileSync(tokPath);
  const tok = parseTokenizer(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), 512);
  const slice = read.slice(0, 1024 * 1024);
  const count = (s: string) => tok.encode(s).length;
  await time('chunk 1 MB with the stories260K tokenizer', () => chunkText(slice, count, BUDGET_TOKENS));
} else {
  console.log(`(stories260K tokenizer not found at ${tokPath}: reference-tokenizer figure skipped)`);
}

console.log('\nPathological files (issue 9): import = read + decode + extract; chunk budget 400 tokens');
const loadPdf = async (): Promise<PdfLib> => {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  pdfjs.GlobalWorkerOptions.workerSrc = 'pdfjs-dist/legacy/build/pdf.worker.mjs';
  return pdfjs as unknown as PdfLib;
};
const tokCount = existsSync(tokPath)
  ? (() => {
      const buf = readFileSync(tokPath);
      const tok = parseTokenizer(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), 512);
      return (s: string) => tok.encode(s).length;
    })()
  : null;
console.log(`${'file'.padEnd(58)} ${'import ms'.padStart(9)} ${'chunk chars/4'.padStart(13)} ${'chunk stories260K'.padStart(17)}`);
for (const f of pathologicalFiles()) {
  const t0 = performance.now();
  const doc = await importFile(new File([f.data], f.name) as unknown as globalThis.File, undefined, { loadPdf });
  const importMs = performance.now() - t0;
  const t1 = performance.now();
  await chunkText(doc.text, estimateTokens, BUDGET_TOKENS);
  const chunkMs = performance.now() - t1;
  let tokMs = '—';
  if (tokCount) {
    const t2 = performance.now();
    await chunkText(doc.text, tokCount, BUDGET_TOKENS);
    tokMs = (performance.now() - t2).toFixed(0);
  }
  console.log(
    `${`${f.what} (${(f.data.length / 1024).toFixed(0)} KB)`.padEnd(58)} ${importMs.toFixed(0).padStart(9)} ${chunkMs.toFixed(0).padStart(13)} ${tokMs.padStart(17)}`,
  );
}
await closeDb();
