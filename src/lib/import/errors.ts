/**
 * Named import errors. Each message says which file, what is wrong and what to do; callers
 * switch on `err.name`. An import error never touches what is already stored.
 */

export class EmptyFileError extends Error {
  constructor(fileName: string, detail = 'it is empty or holds only whitespace') {
    super(`“${fileName}” was not imported: ${detail}.`);
    this.name = 'EmptyFileError';
  }
}

export class BinaryFileError extends Error {
  constructor(fileName: string) {
    super(
      `“${fileName}” was not imported: it does not look like text (it holds binary data). ` +
        'Import plain text, Markdown, HTML or PDF files.',
    );
    this.name = 'BinaryFileError';
  }
}

export class UnsupportedFileError extends Error {
  constructor(fileName: string) {
    super(`“${fileName}” was not imported: this kind of file is not supported. Use .txt, .md, .html or .pdf.`);
    this.name = 'UnsupportedFileError';
  }
}

export type PdfProblem = 'password' | 'malformed' | 'no-text' | 'failed';

export class PdfError extends Error {
  constructor(
    fileName: string,
    readonly problem: PdfProblem,
    detail?: string,
  ) {
    const why: Record<PdfProblem, string> = {
      password:
        'it is protected by a password or encrypted. Save an unprotected copy (for example by printing it to a new PDF) and import that',
      malformed: 'it is not a readable PDF (the file is damaged or not really a PDF)',
      'no-text':
        'it has no text layer (it is probably scanned images). Précis reads text only; run it through OCR first',
      failed: `reading it failed${detail ? ` (${detail})` : ''}`,
    };
    super(`“${fileName}” was not imported: ${why[problem]}.`);
    this.name = 'PdfError';
  }
}
