/**
 * The library's long-running work behind one interface: import a file as a document, import
 * an export file, build an export. The page runs it in the import worker (`workers/import.worker.ts`)
 * so reading, decoding, extracting, hashing and writing a 50 MB file never block the page; Node
 * tests and the fallback run the same functions in-thread. PDFs are read where pdf.js is given
 * (`loadPdf`): pdf.js parses in its own worker, and only the text of each page comes back.
 */
import {
  addDocument,
  exportLibrary,
  exportRunFile,
  importExportFile,
  type DocumentMeta,
  type ImportSummary,
} from '../storage';
import { importFile, type ImportOptions, type ImportProgress } from './import-file';
import type { TextEncodingName } from './text';

export interface ImportedDocument {
  doc: DocumentMeta;
  /** An identical text was already stored: `doc` is that document. */
  duplicate: boolean;
  encoding?: TextEncodingName;
  /** Invalid UTF-8 sequences that became U+FFFD. */
  replacedSequences?: number;
}

export interface LibraryIo {
  importDocument(file: File, onProgress?: (p: ImportProgress) => void): Promise<ImportedDocument>;
  /** Import an export file (all or nothing). */
  importLibrary(file: File): Promise<ImportSummary>;
  exportLibrary(): Promise<Blob>;
  exportRun(runId: string): Promise<Blob>;
}

/** Read, extract and store one file. */
export async function importAndStore(
  file: File,
  onProgress?: (p: ImportProgress) => void,
  options: ImportOptions = {},
): Promise<ImportedDocument> {
  const imported = await importFile(file, onProgress, options);
  const { encoding, replacedSequences, ...input } = imported;
  const { doc, duplicate } = await addDocument(input);
  return { doc, duplicate, ...(encoding ? { encoding } : {}), ...(replacedSequences ? { replacedSequences } : {}) };
}

/** The same work on this thread. */
export function localIo(options: ImportOptions = {}): LibraryIo {
  return {
    importDocument: (file, onProgress) => importAndStore(file, onProgress, options),
    importLibrary: (file) => importExportFile(file),
    exportLibrary: () => exportLibrary(),
    exportRun: (runId) => exportRunFile(runId),
  };
}
