/**
 * The storage module's public surface. Everything that reads or writes IndexedDB goes through
 * these functions; nothing else in the app opens a transaction.
 */
export * from './schema';
export * from './errors';
export { getDb, onDbEvent, closeDb, type DbEvent } from './db';
export * from './documents';
export * from './runs';
export * from './sweeps';
export * from './settings';
export * from './export';
export * from './estimate';
