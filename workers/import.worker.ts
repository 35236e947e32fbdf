/**
 * The import worker: reads, decodes, extracts, hashes and stores imported files, and builds and
 * reads library exports, off the page's thread. It opens its own connection to the app database
 * (repository functions only, as everywhere). HTML is extracted with htmlparser2's tokenizer
 * because workers have no `DOMParser`. PDFs are not read here: the page reads them with pdf.js,
 * which parses in a worker of its own.
 */
import { expose } from 'comlink';
import { localIo } from '../src/lib/import/library-io';
import type { ImportWorkerApi } from './import-contract';

const io = localIo();

const api = {
  importDocument: (file, onProgress) => io.importDocument(file, onProgress),
  importLibrary: (file) => io.importLibrary(file),
  exportLibrary: () => io.exportLibrary(),
  exportRun: (runId) => io.exportRun(runId),
} satisfies ImportWorkerApi;

expose(api);
