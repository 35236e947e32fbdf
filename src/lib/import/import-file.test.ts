// @vitest-environment happy-dom
import { File as NodeFile } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importFile, kindOf, type ImportProgress } from './import-file';
import { htmlToText } from './html';
import { decodeTextFile, readTextFile, sniffEncoding, Utf8Census } from './text';
import { pathologicalFiles } from '../../../e2e/fixtures/pathological';
import { pageItemsToText, type PdfLib } from './pdf';

const fixtures = resolve(import.meta.dirname, '../../../e2e/fixtures/docs');
const fixture = (name: string, type = '') => new File([readFileSync(resolve(fixtures, name))], name, { type });

/** pdf.js in Node: the legacy build, with its worker module run in-process. */
const loadPdf = async (): Promise<PdfLib> => {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  pdfjs.GlobalWorkerOptions.workerSrc = 'pdfjs-dist/legacy/build/pdf.worker.mjs';
  return pdfjs as unknown as PdfLib;
};

describe('kindOf', () => {
  it('goes by extension, then MIME type', () => {
    expect(kindOf({ name: 'a.TXT', type: '' })).toBe('text');
    expect(kindOf({ name: 'a.markdown', type: '' })).toBe('markdown');
    expect(kindOf({ name: 'a.htm', type: '' })).toBe('html');
    expect(kindOf({ name: 'a.pdf', type: '' })).toBe('pdf');
    expect(kindOf({ name: 'README', type: 'text/plain' })).toBe('text');
    expect(kindOf({ name: 'a.docx', type: 'application/zip' })).toBeNull();
  });
});

describe('text files', () => {
  it('imports a .txt with its file name as title', async () => {
    const doc = await importFile(fixture('notes.txt', 'text/plain'));
    expect(doc).toMatchObject({ title: 'notes', kind: 'text', mime: 'text/plain' });
    expect(doc.text).toContain('The tomatoes went in');
    expect(doc.sizeBytes).toBe(readFileSync(resolve(fixtures, 'notes.txt')).byteLength);
  });

  it('titles Markdown by its first heading and keeps the markup', async () => {
    const doc = await importFile(fixture('recipe.md'));
    expect(doc.title).toBe('Lentil soup for a cold evening');
    expect(doc.text).toContain('- 250 g red lentils');
  });

  it('refuses empty and whitespace-only files', async () => {
    await expect(importFile(fixture('empty.txt'))).rejects.toMatchObject({ name: 'EmptyFileError' });
    await expect(importFile(new File([' \n\t\n'], 'blank.txt'))).rejects.toMatchObject({ name: 'EmptyFileError' });
  });

  it('refuses a binary file named .txt', async () => {
    const err = await importFile(fixture('binary.txt')).catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'BinaryFileError' });
    expect((err as Error).message).toContain('binary.txt');
  });

  it('refuses a binary body behind a text-looking start', async () => {
    const head = 'a'.repeat(70_000);
    const file = new File([head, new Uint8Array([0, 1, 2, 0])], 'tricky.txt');
    await expect(readTextFile(file)).rejects.toMatchObject({ name: 'BinaryFileError' });
  });

  it('refuses unsupported kinds', async () => {
    await expect(importFile(new File(['x'], 'sheet.xlsx'))).rejects.toMatchObject({ name: 'UnsupportedFileError' });
  });

  it('decodes UTF-16 with a byte-order mark, Windows-1252 and CRLF', async () => {
    const utf16 = new Uint8Array([0xff, 0xfe, ...[...'héllo\r\nwörld'].flatMap((c) => [c.charCodeAt(0), 0])]);
    expect(await readTextFile(new File([utf16], 'u.txt'))).toBe('héllo\nwörld');
    const legacy = 'Le café est prêt, dit-il : « à table ».';
    const cp1252 = new Uint8Array([...legacy].map((c) => c.charCodeAt(0)));
    expect(await readTextFile(new File([cp1252], 'w.txt'))).toBe(legacy);
    expect(sniffEncoding(new TextEncoder().encode('plain ✓'))).toBe('utf-8');
  });

  it('keeps UTF-8 with a few bad bytes as UTF-8 and counts the replacements', async () => {
    const good = new TextEncoder().encode('Ünïcödé café, naïve résumé. '.repeat(20));
    const bytes = new Uint8Array([...good, 0xff, ...good, 0xc3, 0x28, ...good]);
    expect(sniffEncoding(bytes)).toBe('utf-8');
    const decoded = await decodeTextFile(new File([bytes], 'mixed.txt'));
    expect(decoded).toMatchObject({ encoding: 'utf-8', replacedSequences: 2 });
    expect(decoded.text).toContain('Ünïcödé');
    expect(decoded.text.split('\uFFFD')).toHaveLength(3);
    const doc = await importFile(new File([bytes], 'mixed.txt'));
    expect(doc).toMatchObject({ encoding: 'utf-8', replacedSequences: 2 });
  });

  it('reads Windows-1252 only when invalid sequences outnumber valid multi-byte characters', async () => {
    const legacy = 'Déjà vu: the café served crème brûlée. ';
    const cp1252 = Uint8Array.from(legacy.repeat(20), (c) => c.charCodeAt(0));
    expect(sniffEncoding(cp1252)).toBe('windows-1252');
    const decoded = await decodeTextFile(new File([cp1252], 'old.txt'));
    expect(decoded).toMatchObject({ encoding: 'windows-1252', replacedSequences: 0 });
    expect(decoded.text).toBe(legacy.repeat(20));
    // One valid UTF-8 letter among many legacy bytes does not make it UTF-8.
    const mostlyLegacy = new Uint8Array([...cp1252, ...new TextEncoder().encode('é')]);
    expect(sniffEncoding(mostlyLegacy)).toBe('windows-1252');
  });

  it('counts invalid sequences exactly as TextDecoder replaces them', () => {
    const samples = [
      [0xff], [0xc3], [0xe2, 0x82], [0xe2, 0x28, 0xa1], [0xf0, 0x9f, 0x98], [0xed, 0xa0, 0x80], [0xc0, 0xaf],
      [0xf4, 0x90, 0x80, 0x80], [0x61, 0xe2, 0x82, 0xac, 0x80, 0x62], [0xf0, 0x9f, 0x98, 0x80],
    ];
    for (const bytes of samples) {
      const census = new Utf8Census();
      // Fed byte by byte, as chunk edges may fall anywhere.
      for (const b of bytes) census.push(Uint8Array.of(b));
      census.end();
      const replaced = new TextDecoder().decode(Uint8Array.from(bytes)).split('\uFFFD').length - 1;
      expect(census.invalid, bytes.join(',')).toBe(replaced);
    }
  });

  it('streams a large file with progress, keeping every character', async () => {
    const line = 'All work and no play makes a long document. Ünïcode survives chunk edges: 😀\n';
    const big = line.repeat(Math.ceil((8 * 1024 * 1024) / line.length));
    const fractions: number[] = [];
    const progress: ImportProgress[] = [];
    // Many byte parts, as a browser's file stream delivers many chunks; cuts fall inside characters.
    const bytes = new TextEncoder().encode(big);
    const parts = Array.from({ length: Math.ceil(bytes.length / 65_537) }, (_, i) => bytes.slice(i * 65_537, (i + 1) * 65_537));
    // Node's File streams part by part (happy-dom's delivers one chunk).
    const file = new NodeFile(parts, 'big.txt') as unknown as File;
    const doc = await importFile(file, (p) => {
      progress.push(p);
      if (p.fraction !== null) fractions.push(p.fraction);
    });
    expect(doc.text).toBe(big);
    expect(fractions.length).toBeGreaterThan(1);
    expect(fractions.at(-1)).toBe(1);
    expect(progress.every((p) => p.fileName === 'big.txt')).toBe(true);
  });
});

describe('HTML', () => {
  it('drops scripts, styles and noscript, keeps blocks apart, uses <title>', async () => {
    const doc = await importFile(fixture('field-report.html', 'text/html'));
    expect(doc.title).toBe('Field report: river survey');
    expect(doc.text).not.toMatch(/SCRIPT_SHOULD_NOT_APPEAR|ALSO_HIDDEN|NOSCRIPT_HIDDEN|hidden-style-marker|color: red/);
    expect(doc.text).toContain('River survey, week 12\n\nThe water level at the old mill rose by forty centimetres after the storm.');
    expect(doc.text).toContain('Sample A: clear\nSample B: cloudy');
  });

  it('keeps <pre> whitespace and collapses the rest', () => {
    const { text } = htmlToText('<p>a   b\n c</p><pre>  x\n    y</pre><p>d<br>e</p>');
    expect(text).toBe('a b c\n\n  x\n    y\n\nd\ne');
  });

  it('follows a browser on unclosed elements, cells, entities, head and foreign content', () => {
    expect(htmlToText('<ul><li>one<li>two</ul><p>a<p>b').text).toBe('one\ntwo\n\na\n\nb');
    expect(htmlToText('<table><tr><td>A<td>B<tr><td>C</table>').text).toBe('A\tB\nC');
    expect(htmlToText('<p>caf&eacute; &amp; th&#233; &lt;b&gt;</p>').text).toBe('café & thé <b>');
    expect(htmlToText('<head><title>T &amp; U</title><meta charset=utf-8>Body text').title).toBe('T & U');
    expect(htmlToText('<head><title>T</title><meta charset=utf-8>Body text').text).toBe('Body text');
    expect(htmlToText('<p>before</p><svg><text>drawn</text><p>after</p>').text).toBe('before\n\nafter');
    expect(htmlToText('<pre>\nfirst\n  second   \n\n\n\nthird</pre>').text).toBe('first\n  second\n\nthird');
    expect(htmlToText('a<button>Click</button>b <select><option>x</select>c').text).toBe('ab c');
    expect(htmlToText('x</div></span></p>y').text).toBe('x\n\ny');
  });

  it('refuses a page with no visible text', async () => {
    const file = new File(['<html><script>x()</script><style>p{}</style></html>'], 'empty.html');
    await expect(importFile(file)).rejects.toMatchObject({ name: 'EmptyFileError' });
  });
});

describe('pathological files (issue 9): linear work, bounded time', () => {
  // Each took seconds to minutes (or crashed the tab) before: quadratic regular expressions over
  // long runs of spaces or dots, a recursive walk over 100,000 nested elements. The bound only
  // guards against a hang; CI is slow and shared.
  for (const f of pathologicalFiles()) {
    it(`${f.what} (${f.name})`, async () => {
      const started = performance.now();
      const doc = await importFile(new NodeFile([f.data], f.name) as unknown as File, undefined, { loadPdf });
      const elapsedMs = performance.now() - started;
      expect(doc.text.length).toBeGreaterThan(0);
      expect(elapsedMs).toBeLessThan(30_000);
      // Compared as booleans: a failing diff of megabyte strings would itself take minutes.
      if (f.name === 'pre-spaces.html') expect(doc.text === 'x').toBe(true);
      if (f.name === 'deep-nesting.html') expect(doc.text === 'deep').toBe(true);
      if (f.name === 'inline-100k.html') expect(doc.text === 'w '.repeat(100_000).trim()).toBe(true);
      if (f.name.endsWith('.pdf')) expect(doc.text.includes('The end.')).toBe(true);
    }, 60_000);
  }
});

describe('PDF', () => {
  it('extracts every page in order with page progress and the PDF title', async () => {
    const pages: string[] = [];
    const doc = await importFile(fixture('harbour.pdf', 'application/pdf'), (p) => pages.push(p.detail), { loadPdf });
    expect(doc.title).toBe('Harbour log');
    expect(doc.kind).toBe('pdf');
    expect(doc.text).toContain('The lighthouse keeper counted seventeen ships on Tuesday.');
    expect(doc.text.indexOf('seventeen')).toBeLessThan(doc.text.indexOf('eighteenth'));
    expect(pages).toContain('Page 1 of 2');
    expect(pages).toContain('Page 2 of 2');
  });

  it('joins a text layer with a 400,000-space run in linear time', () => {
    const item = (str: string, hasEOL = true) => ({ str, hasEOL, transform: [1, 0, 0, 1, 72, 700], height: 12 });
    const started = performance.now();
    const text = pageItemsToText([item(`${' '.repeat(400_000)}x${' '.repeat(400_000)}`), item('.'.repeat(100_000)), item('end', false)]);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(text === `${' '.repeat(400_000)}x\n${'.'.repeat(100_000)}\nend`).toBe(true);
  });

  it('says when a PDF needs a password', async () => {
    const err = await importFile(fixture('locked.pdf'), undefined, { loadPdf }).catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'PdfError', problem: 'password' });
    expect((err as Error).message).toMatch(/password/);
  });

  it('says when a PDF is malformed', async () => {
    await expect(importFile(fixture('broken.pdf'), undefined, { loadPdf })).rejects.toMatchObject({ name: 'PdfError' });
    await expect(importFile(new File(['just text'], 'fake.pdf'), undefined, { loadPdf })).rejects.toMatchObject({
      name: 'PdfError',
      problem: 'malformed',
    });
  });
});
