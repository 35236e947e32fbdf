/**
 * Named storage errors. Messages are for the person using the app: what happened, what was kept,
 * what to do. Callers switch on `err.name`.
 */
import { PrecisError } from '../core/errors';

/** The browser refused a write for lack of space. The transaction was rolled back whole. */
export class StorageQuotaError extends PrecisError {
  constructor(what = 'The data') {
    super(
      'StorageQuotaError',
      `${what} could not be saved: this browser's storage for the app is full. Nothing was half-written. ` +
        'Delete old runs or documents, or cached models, then try again.',
    );
  }
}

/** Another tab holds the database open at an older version and did not let go. */
export class DatabaseBlockedError extends Error {
  constructor() {
    super('Précis is open in another tab with an older version. Close or reload that tab to continue.');
    this.name = 'DatabaseBlockedError';
  }
}

/** The stored database was written by a newer version of the app than this one. */
export class DatabaseTooNewError extends Error {
  constructor(readonly storedVersion: number | null) {
    super(
      `This browser holds Précis data from a newer version of the app${storedVersion ? ` (database version ${storedVersion})` : ''} ` +
        'than this page can read. Nothing was changed: open the newer version of Précis (reload to get it), ' +
        'or use another browser profile.',
    );
    this.name = 'DatabaseTooNewError';
  }
}

/** This tab's connection was closed (a newer version opened in another tab, or the browser closed it). */
export class DatabaseClosedError extends Error {
  constructor(reason: 'versionchange' | 'terminated') {
    super(
      reason === 'versionchange'
        ? 'A newer version of Précis was opened in another tab. Reload this tab to keep working.'
        : 'The browser closed the app database unexpectedly. Reload the page to keep working.',
    );
    this.name = 'DatabaseClosedError';
  }
}

export class NotFoundError extends Error {
  constructor(what: string) {
    super(`${what} was not found. It may have been deleted in another tab.`);
    this.name = 'NotFoundError';
  }
}

/**
 * An export file that cannot be imported; the message says what is wrong with it and `path`
 * names the bad field when there is one (`runs[1].exchanges[0]`). Nothing was written.
 */
export class ImportFormatError extends Error {
  constructor(
    detail: string,
    readonly path: string | null = null,
  ) {
    super(`This file cannot be imported: ${detail} Nothing was changed.`);
    this.name = 'ImportFormatError';
  }
}

function isQuotaError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const name = (err as { name?: unknown }).name;
  // Firefox has reported NS_ERROR_DOM_QUOTA_REACHED on older versions.
  return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED';
}

/** Run a write and turn the browser's quota failure into a `StorageQuotaError`. */
export async function mapQuota<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isQuotaError(err)) throw new StorageQuotaError(what);
    throw err;
  }
}
