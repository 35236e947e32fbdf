/// <reference types="vite/client" />
/**
 * Load pdf.js on first use only, with its worker from Vite's `?url` asset import, so the main
 * bundle carries none of it. Cached after the first call.
 */
import type { PdfLib } from './pdf';

let loading: Promise<PdfLib> | null = null;

export function loadPdfjs(): Promise<PdfLib> {
  loading ??= Promise.all([import('pdfjs-dist'), import('pdfjs-dist/build/pdf.worker.min.mjs?url')]).then(
    ([pdfjs, worker]) => {
      pdfjs.GlobalWorkerOptions.workerSrc = worker.default;
      return pdfjs;
    },
  );
  loading.catch(() => {
    loading = null;
  });
  return loading;
}
