/**
 * The import worker's API, written once: the worker implements it, the page imports the type.
 * Files and Blobs cross by reference (structured clone), progress callbacks as `proxy(fn)`.
 */
import type { LibraryIo } from '../src/lib/import/library-io';

export type ImportWorkerApi = LibraryIo;
