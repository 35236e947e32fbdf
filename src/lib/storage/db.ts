/**
 * The one connection to the app database, shared by the repository modules.
 *
 * Two tabs: when another tab opens a newer version, this tab's connection gets `versionchange`
 * (`blocking`); it closes at once so the other tab's upgrade never waits on it, and tells its
 * listeners to ask the user to reload. When this tab is the one upgrading and an older tab does
 * not let go (`blocked`), the open fails after `blockedTimeoutMs` with `DatabaseBlockedError`
 * instead of hanging. A connection the browser kills (`terminated`) is dropped and the next call
 * reopens it.
 */
import { openDB, type IDBPDatabase } from 'idb';
import { DB_NAME, DB_VERSION, upgradeSchema, type PrecisDb } from './schema';
import { DatabaseBlockedError, DatabaseClosedError, DatabaseTooNewError } from './errors';

export type DbEvent =
  | { kind: 'blocked' }
  | { kind: 'closed'; reason: 'versionchange' | 'terminated'; error: DatabaseClosedError };

type Listener = (event: DbEvent) => void;

let dbPromise: Promise<IDBPDatabase<PrecisDb>> | null = null;
/** Set once another tab upgraded past us: reopening would only fail or block that tab. */
let closedForVersion: DatabaseClosedError | null = null;
const listeners = new Set<Listener>();

export const blockedTimeoutMs = 10_000;

/** Subscribe to connection events (for the UI's "reload" message). Returns an unsubscribe. */
export function onDbEvent(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function emit(event: DbEvent): void {
  for (const l of listeners) l(event);
}

function open(name: string): Promise<IDBPDatabase<PrecisDb>> {
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const opening = openDB<PrecisDb>(name, DB_VERSION, {
      upgrade(db, oldVersion) {
        upgradeSchema(db, oldVersion);
      },
      blocked() {
        emit({ kind: 'blocked' });
        timer = setTimeout(() => reject(new DatabaseBlockedError()), blockedTimeoutMs);
      },
      blocking() {
        const error = new DatabaseClosedError('versionchange');
        closedForVersion = error;
        void opening.then((db) => db.close());
        dbPromise = null;
        emit({ kind: 'closed', reason: 'versionchange', error });
      },
      terminated() {
        dbPromise = null;
        emit({ kind: 'closed', reason: 'terminated', error: new DatabaseClosedError('terminated') });
      },
    });
    opening.then(
      (db) => {
        if (timer) clearTimeout(timer);
        resolve(db);
      },
      (err: unknown) => {
        if (timer) clearTimeout(timer);
        if (err instanceof Error && err.name === 'VersionError') {
          const stored = /existing version \((\d+)\)/.exec(err.message);
          reject(new DatabaseTooNewError(stored ? Number(stored[1]) : null));
        } else {
          reject(err);
        }
      },
    );
  });
}

let dbName = DB_NAME;

/** The shared connection, opened on first use. */
export function getDb(): Promise<IDBPDatabase<PrecisDb>> {
  if (closedForVersion) return Promise.reject(closedForVersion);
  if (!dbPromise) {
    dbPromise = open(dbName);
    dbPromise.catch(() => {
      dbPromise = null;
    });
  }
  return dbPromise;
}

/** Close the connection (tests; also lets another tab upgrade). */
export async function closeDb(): Promise<void> {
  const p = dbPromise;
  dbPromise = null;
  if (p) (await p).close();
}

/** Tests only: use a fresh database name and forget any closed state. */
export async function useDatabaseForTests(name: string): Promise<void> {
  await closeDb();
  closedForVersion = null;
  dbName = name;
}
