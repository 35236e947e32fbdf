/**
 * Turn a user's file into a library document's text, on the device. Decides the kind from the
 * extension (then the MIME type), reads text files as a stream, extracts HTML and PDF text.
 * Throws named errors (`EmptyFileError`, `BinaryFileError`, `UnsupportedFileError`, `PdfError`)
 * with messages for the user. Storing the result is the caller's job.
 */
import type { DocKind } from '../storage/schema';
import { EmptyFileError, UnsupportedFileError } from './errors';
import { htmlToText } from './html';
import { extractPdfText, type PdfLib } from './pdf';
import { decodeTextFile, type TextEncodingName } from './text';

export type ImportPhase = 'reading' | 'extracting';

export interface ImportProgress {
  fileName: string;
  phase: ImportPhase;
  /** 0..1, or null when unknown. */
  fraction: number | null;
  detail: string;
}

export interface ImportedText {
  title: string;
  kind: DocKind;
  mime: string;
  text: string;
  sizeBytes: number;
  /** How a text or HTML file was decoded (absent for PDF). */
  encoding?: TextEncodingName;
  /** Invalid UTF-8 sequences that became U+FFFD; the user is told when there are any. */
  replacedSequences?: number;
}

export const ACCEPTED_EXTENSIONS = ['.txt', '.text', '.md', '.markdown', '.html', '.htm', '.pdf'] as const;
/** For `<input accept>`. */
export const ACCEPT_ATTRIBUTE = '.txt,.text,.md,.markdown,.html,.htm,.pdf,text/plain,text/markdown,text/html,application/pdf';

export function kindOf(file: { name: string; type: string }): Exclude<DocKind, 'pasted'> | null {
  const ext = /\.[^./\\]+$/.exec(file.name.toLowerCase())?.[0] ?? '';
  if (ext === '.txt' || ext === '.text') return 'text';
  if (ext === '.md' || ext === '.markdown') return 'markdown';
  if (ext === '.html' || ext === '.htm') return 'html';
  if (ext === '.pdf') return 'pdf';
  if (ext === '') {
    if (file.type === 'application/pdf') return 'pdf';
    if (file.type === 'text/html') return 'html';
    if (file.type === 'text/markdown') return 'markdown';
    if (file.type.startsWith('text/')) return 'text';
  }
  return null;
}

function baseName(name: string): string {
  return name.replace(/\.[^./\\]+$/, '') || name;
}

function markdownTitle(text: string): string {
  return /^#[ \t]+([^\n]+)$/m.exec(text)?.[1]?.trim() ?? '';
}

export interface ImportOptions {
  /** Where pdf.js comes from (the page loads it lazily); without it a PDF is refused. */
  loadPdf?: () => Promise<PdfLib>;
}

export async function importFile(
  file: File,
  onProgress?: (p: ImportProgress) => void,
  options: ImportOptions = {},
): Promise<ImportedText> {
  const kind = kindOf(file);
  if (!kind) throw new UnsupportedFileError(file.name);
  if (file.size === 0) throw new EmptyFileError(file.name);
  const report = (phase: ImportPhase, fraction: number | null, detail: string) =>
    onProgress?.({ fileName: file.name, phase, fraction, detail });
  const base = { kind, mime: file.type, sizeBytes: file.size };

  if (kind === 'pdf') {
    report('reading', null, 'Reading the file');
    const data = new Uint8Array(await file.arrayBuffer());
    report('extracting', 0, 'Loading the PDF reader');
    if (!options.loadPdf) throw new UnsupportedFileError(file.name);
    const lib = await options.loadPdf();
    const pdf = await extractPdfText(lib, data, file.name, (done, total) =>
      report('extracting', done / total, `Page ${done} of ${total}`),
    );
    return { ...base, title: pdf.title || baseName(file.name), text: pdf.text };
  }

  const decoded = await decodeTextFile(file, (f) => report('reading', f, `Reading ${Math.round(f * 100)}%`));
  const raw = decoded.text;
  const how = { encoding: decoded.encoding, replacedSequences: decoded.replacedSequences };
  if (kind === 'html') {
    report('extracting', null, 'Extracting text from HTML');
    const html = htmlToText(raw);
    if (html.text === '') throw new EmptyFileError(file.name, 'the page has no visible text');
    return { ...base, ...how, title: html.title || baseName(file.name), text: html.text };
  }
  const title = kind === 'markdown' ? markdownTitle(raw) || baseName(file.name) : baseName(file.name);
  return { ...base, ...how, title, text: raw };
}
