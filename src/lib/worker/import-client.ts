/**
 * The page's handle on the import worker, as a `LibraryIo`. Text, Markdown and HTML files, export
 * files and exports go to the worker; PDFs are read on the page with pdf.js (loaded lazily),
 * whose own worker does the parsing. Without Worker support everything runs on the page.
 */
import { proxy, wrap, type Remote } from 'comlink';
import type { ImportWorkerApi } from '../../../workers/import-contract';
import { kindOf } from '../import/import-file';
import { localIo, type LibraryIo } from '../import/library-io';

let remote: Remote<ImportWorkerApi> | null = null;

function worker(): Remote<ImportWorkerApi> {
  if (!remote) {
    const w = new Worker(new URL('../../../workers/import.worker.ts', import.meta.url), { type: 'module', name: 'precis-import' });
    remote = wrap<ImportWorkerApi>(w);
  }
  return remote;
}

export function libraryIo(): LibraryIo {
  const onPage = localIo({ loadPdf: () => import('../import/pdf-loader').then((m) => m.loadPdfjs()) });
  if (typeof Worker === 'undefined') return onPage;
  return {
    importDocument: (file, onProgress) =>
      kindOf(file) === 'pdf'
        ? onPage.importDocument(file, onProgress)
        : worker().importDocument(file, onProgress ? proxy(onProgress) : undefined),
    importLibrary: (file) => worker().importLibrary(file),
    exportLibrary: () => worker().exportLibrary(),
    exportRun: (runId) => worker().exportRun(runId),
  };
}
