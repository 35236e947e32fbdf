/**
 * Text from a PDF with pdfjs-dist. Parsing and text extraction run in pdf.js's own worker, so
 * the page stays responsive; pages are read one at a time with progress. pdf.js is passed in
 * (`PdfLib`) so this module has no static dependency on it: the browser loads it lazily
 * (`pdf-loader.ts`), Node tests pass the legacy build.
 */
import { PdfError } from './errors';
import { normaliseNewlines } from './text';

type PdfJs = typeof import('pdfjs-dist');
export type PdfLib = Pick<PdfJs, 'getDocument'>;

export interface PdfText {
  title: string;
  text: string;
  pageCount: number;
}

interface TextLike {
  str: string;
  hasEOL: boolean;
  transform: number[];
  height: number;
}

/** Join a page's text items: a line break at each end of line, a blank line at a wide gap. */
export function pageItemsToText(items: TextLike[]): string {
  let out = '';
  let lastY: number | null = null;
  let lastHeight = 0;
  for (const item of items) {
    const y = item.transform[5];
    if (lastY !== null && out.endsWith('\n') && lastHeight > 0 && Math.abs(lastY - y) > lastHeight * 1.8) {
      out += '\n';
    }
    out += item.str;
    if (item.hasEOL) out += '\n';
    if (item.str !== '' || item.height > 0) {
      lastY = y;
      lastHeight = item.height || lastHeight;
    }
  }
  // trimEnd, not /\s+$/: that regular expression is quadratic on a line holding a long run of
  // spaces before more text (it retries the run from every space).
  return out
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');
}

function pdfProblem(err: unknown): 'password' | 'malformed' | null {
  const name = (err as { name?: string } | null)?.name;
  if (name === 'PasswordException') return 'password';
  if (name === 'InvalidPDFException' || name === 'FormatError') return 'malformed';
  return null;
}

/**
 * Extract the text of every page. `onPage(done, total)` after each page.
 * Throws `PdfError` (password, malformed, no text layer, other failure).
 */
export async function extractPdfText(
  lib: PdfLib,
  data: Uint8Array,
  fileName: string,
  onPage?: (done: number, total: number) => void,
): Promise<PdfText> {
  if (!looksLikePdf(data)) throw new PdfError(fileName, 'malformed');
  const task = lib.getDocument({
    data,
    isEvalSupported: false,
    disableFontFace: true,
  });
  try {
    let doc;
    try {
      doc = await task.promise;
    } catch (err) {
      const problem = pdfProblem(err);
      // With no onPassword handler set, pdf.js rejects an encrypted file with PasswordException.
      if (problem) throw new PdfError(fileName, problem);
      throw new PdfError(fileName, 'failed', err instanceof Error ? err.message : String(err));
    }
    const pages: string[] = [];
    for (let n = 1; n <= doc.numPages; n++) {
      const page = await doc.getPage(n);
      const content = await page.getTextContent();
      pages.push(pageItemsToText(content.items.filter((i): i is TextLike & (typeof content.items)[number] => 'str' in i)));
      page.cleanup();
      onPage?.(n, doc.numPages);
    }
    let title = '';
    try {
      const meta = await doc.getMetadata();
      const info = meta.info as { Title?: unknown } | undefined;
      if (typeof info?.Title === 'string') title = info.Title.trim();
    } catch {
      // Metadata is optional; the file name serves as the title.
    }
    const text = normaliseNewlines(pages.join('\n\n')).replace(/\n{3,}/g, '\n\n').trim();
    if (text === '') throw new PdfError(fileName, 'no-text');
    return { title, text, pageCount: doc.numPages };
  } finally {
    await task.destroy().catch(() => undefined);
  }
}

/** A PDF starts with `%PDF-` within its first kilobyte. */
export function looksLikePdf(data: Uint8Array): boolean {
  const head = new TextDecoder('latin1').decode(data.subarray(0, 1024));
  return head.includes('%PDF-');
}
