/**
 * The export file format and its validation. Pure: no database here.
 *
 * One JSON file holds the whole library or one run, with a schema version. Validation reports
 * what is wrong in words (not JSON, not a Précis export, a newer schema, which field is missing)
 * before anything is written. Secrets never appear in a file: settings whose key looks like a
 * secret are left out, and any property with such a name is stripped wherever it occurs.
 */
import { checkEngineReport } from './engine-report';
import { ImportFormatError } from './errors';
import type { CompressionRecord, DocKind, DocumentRecord, ExchangeRecord, RunRecord, RunStatus, SettingRecord } from './schema';
import { isSecretKey } from './settings';

export const EXPORT_FORMAT = 'precis-export';
export const EXPORT_SCHEMA_VERSION = 1;

export interface ExportedRun {
  run: RunRecord;
  compressions: CompressionRecord[];
  exchanges: ExchangeRecord[];
}

export interface ExportFile {
  format: typeof EXPORT_FORMAT;
  schemaVersion: number;
  exportedAt: string;
  scope: 'library' | 'run';
  documents: DocumentRecord[];
  runs: ExportedRun[];
  settings: SettingRecord[];
}

/** Remove every property whose name looks like a secret, at any depth. Returns a copy. */
export function stripSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => stripSecrets(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (isSecretKey(k)) continue;
      out[k] = stripSecrets(v);
    }
    return out as T;
  }
  return value;
}

export function buildExport(
  scope: ExportFile['scope'],
  documents: DocumentRecord[],
  runs: ExportedRun[],
  settings: SettingRecord[],
): ExportFile {
  return {
    format: EXPORT_FORMAT,
    schemaVersion: EXPORT_SCHEMA_VERSION,
    exportedAt: new Date().toISOString(),
    scope,
    documents,
    runs: stripSecrets(runs),
    settings: stripSecrets(settings.filter((s) => !isSecretKey(s.key))),
  };
}

const DOC_KINDS: readonly DocKind[] = ['text', 'markdown', 'html', 'pdf', 'pasted'];
const RUN_STATUSES: readonly RunStatus[] = ['running', 'done', 'cancelled', 'interrupted', 'failed'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const isNumArray = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'number');

/** Collects problems with their paths; stops listing after a few. */
class Problems {
  readonly list: string[] = [];
  add(path: string, what: string): void {
    this.list.push(`${path} ${what}`);
  }
  need(obj: Obj, path: string, key: string, type: 'string' | 'number' | 'boolean' | 'object' | 'array'): boolean {
    const v = obj[key];
    const ok =
      type === 'array' ? Array.isArray(v) : type === 'object' ? isObj(v) : typeof v === type && !(type === 'number' && !Number.isFinite(v));
    if (!ok) this.add(`${path}.${key}`, v === undefined ? 'is missing' : `should be ${type === 'array' ? 'a list' : `a ${type}`}`);
    return ok;
  }
}

function checkDocument(d: unknown, path: string, p: Problems): void {
  if (!isObj(d)) return p.add(path, 'should be an object');
  p.need(d, path, 'id', 'string');
  p.need(d, path, 'title', 'string');
  p.need(d, path, 'text', 'string');
  p.need(d, path, 'createdAt', 'number');
  if (p.need(d, path, 'kind', 'string') && !DOC_KINDS.includes(d.kind as DocKind)) {
    p.add(`${path}.kind`, `should be one of ${DOC_KINDS.join(', ')}`);
  }
}

function checkRun(r: unknown, path: string, p: Problems): void {
  if (!isObj(r)) return p.add(path, 'should be an object');
  if (!p.need(r, path, 'run', 'object')) return;
  const run = r.run as Obj;
  const rp = `${path}.run`;
  p.need(run, rp, 'id', 'string');
  p.need(run, rp, 'question', 'string');
  p.need(run, rp, 'modelId', 'string');
  p.need(run, rp, 'createdAt', 'number');
  p.need(run, rp, 'settings', 'object');
  if (p.need(run, rp, 'status', 'string') && !RUN_STATUSES.includes(run.status as RunStatus)) {
    p.add(`${rp}.status`, `should be one of ${RUN_STATUSES.join(', ')}`);
  }
  if (run.engineReport !== undefined) for (const problem of checkEngineReport(run.engineReport, `${rp}.engineReport`).problems) p.list.push(problem);
  if (p.need(run, rp, 'docIds', 'array') && !(run.docIds as unknown[]).every((x) => typeof x === 'string')) {
    p.add(`${rp}.docIds`, 'should be a list of ids');
  }
  if (p.need(run, rp, 'bank', 'array')) {
    (run.bank as unknown[]).forEach((b, i) => {
      const bp = `${rp}.bank[${i}]`;
      if (!isObj(b)) return p.add(bp, 'should be an object');
      p.need(b, bp, 'docId', 'string');
      p.need(b, bp, 'chunkIndex', 'number');
      p.need(b, bp, 'text', 'string');
    });
  }
  if (p.need(r, path, 'compressions', 'array')) {
    (r.compressions as unknown[]).forEach((c, i) => {
      const cp = `${path}.compressions[${i}]`;
      if (!isObj(c)) return p.add(cp, 'should be an object');
      p.need(c, cp, 'index', 'number');
      p.need(c, cp, 'context', 'number');
      p.need(c, cp, 'sample', 'number');
      p.need(c, cp, 'text', 'string');
      if (!isNumArray(c.ids)) p.add(`${cp}.ids`, c.ids === undefined ? 'is missing' : 'should be a list of numbers');
      if (!isNumArray(c.logprobsNats)) {
        p.add(`${cp}.logprobsNats`, c.logprobsNats === undefined ? 'is missing' : 'should be a list of numbers');
      }
    });
  }
  if (r.exchanges !== undefined && !Array.isArray(r.exchanges)) p.add(`${path}.exchanges`, 'should be a list');
}

const MAX_LISTED = 6;

/** Parse and validate an export file's text. Throws `ImportFormatError` saying what is wrong. */
export function parseExport(json: string): ExportFile {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (err) {
    throw new ImportFormatError(`it is not JSON (${err instanceof Error ? err.message : String(err)}).`);
  }
  if (!isObj(data) || data.format !== EXPORT_FORMAT) {
    throw new ImportFormatError(`it is JSON but not a Précis export (it has no "format": "${EXPORT_FORMAT}").`);
  }
  const version = data.schemaVersion;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new ImportFormatError('its "schemaVersion" is missing or not a positive whole number.');
  }
  if (version > EXPORT_SCHEMA_VERSION) {
    throw new ImportFormatError(
      `it was written by a newer version of Précis (schema version ${version}; this version reads up to ` +
        `${EXPORT_SCHEMA_VERSION}). Update the app, then import it again.`,
    );
  }
  const p = new Problems();
  for (const key of ['documents', 'runs', 'settings'] as const) {
    if (data[key] !== undefined && !Array.isArray(data[key])) p.add(key, 'should be a list');
  }
  const documents = Array.isArray(data.documents) ? data.documents : [];
  const runs = Array.isArray(data.runs) ? data.runs : [];
  const settings = Array.isArray(data.settings) ? data.settings : [];
  documents.forEach((d, i) => checkDocument(d, `documents[${i}]`, p));
  runs.forEach((r, i) => checkRun(r, `runs[${i}]`, p));
  settings.forEach((s, i) => {
    if (!isObj(s) || typeof s.key !== 'string') p.add(`settings[${i}].key`, 'is missing');
  });
  if (p.list.length > 0) {
    const shown = p.list.slice(0, MAX_LISTED).join('; ');
    const more = p.list.length > MAX_LISTED ? ` (and ${p.list.length - MAX_LISTED} more)` : '';
    throw new ImportFormatError(`${shown}${more}.`);
  }
  return {
    format: EXPORT_FORMAT,
    schemaVersion: version,
    exportedAt: typeof data.exportedAt === 'string' ? data.exportedAt : '',
    scope: data.scope === 'run' ? 'run' : 'library',
    documents: documents as DocumentRecord[],
    runs: (runs as ExportedRun[]).map((r) => ({ ...r, exchanges: r.exchanges ?? [] })),
    settings: settings as SettingRecord[],
  };
}
