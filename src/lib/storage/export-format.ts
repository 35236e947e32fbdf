/**
 * The export file format, and reading it back with validation. Pure: no database here.
 *
 * Schema 2 (written now) is NDJSON: a header line, then one JSON value per line, each holding
 * one document, one run (with its compressions and exchanges) or one setting. A file of any
 * size is therefore written as a Blob of parts and read back as a stream of lines; nothing ever
 * holds the whole library as one string (one `JSON.stringify` fails past ~500 MB). Schema 1
 * (one JSON object with `documents`, `runs` and `settings` lists) is still read.
 *
 * Reading validates every record against `export-schema.ts` and rebuilds it from its known
 * fields; the first bad field stops the import with an `ImportFormatError` naming its path
 * (`runs[1].exchanges[0]`), before anything is written. Unknown setting keys are dropped and
 * counted. Secrets never appear in a file: settings whose key looks like a secret are left out,
 * and any property with such a name is stripped wherever it occurs.
 */
import * as v from 'valibot';
import { ImportFormatError } from './errors';
import {
  check,
  documentSchema,
  exportedRunSchema,
  runConsistency,
  settingSchema,
  type DocumentIn,
  type ExportedRunIn,
} from './export-schema';
import { MAX_DOC_IDS_PER_RUN, MAX_ID_CHARS } from './limits';
import type { CompressionRecord, DocumentRecord, ExchangeRecord, RunRecord, SettingRecord } from './schema';
import { isSecretKey } from './settings';

export const EXPORT_FORMAT = 'precis-export';
export const EXPORT_SCHEMA_VERSION = 2;
export const EXPORT_MIME = 'application/x-ndjson';

export interface ExportedRun {
  run: RunRecord;
  compressions: CompressionRecord[];
  exchanges: Omit<ExchangeRecord, 'seq'>[];
}

export type ExportScope = 'library' | 'run';

export interface ExportHeader {
  format: typeof EXPORT_FORMAT;
  schemaVersion: number;
  exportedAt: string;
  scope: ExportScope;
  /** Plain words on what the file holds (a run export holds the raw passages of its bank). */
  contains: string;
}

/** One line after the header. */
export type ExportLine = { document: DocumentRecord } | { run: ExportedRun } | { setting: SettingRecord };

export const LIBRARY_CONTAINS =
  'Every document of the library with its full text, every run with its bank of passages, compressions and predictor exchanges, and the settings (never an API key).';
export const RUN_CONTAINS =
  'One run: its question, settings, compressions, predictor exchanges and result, and its bank: the raw passages of the documents it compressed, as they were sent to the local model.';

export function exportHeader(scope: ExportScope): ExportHeader {
  return {
    format: EXPORT_FORMAT,
    schemaVersion: EXPORT_SCHEMA_VERSION,
    exportedAt: new Date().toISOString(),
    scope,
    contains: scope === 'run' ? RUN_CONTAINS : LIBRARY_CONTAINS,
  };
}

/** Remove every property whose name looks like a secret, at any depth. Returns a copy. */
export function stripSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map((x) => stripSecrets(x)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(value)) {
      if (isSecretKey(k)) continue;
      out[k] = stripSecrets(x);
    }
    return out as T;
  }
  return value;
}

/** One line of the file (with its newline). */
export function exportLine(value: ExportHeader | ExportLine): string {
  return `${JSON.stringify(value)}\n`;
}

/**
 * Settings an import may write, each with the shape its value must have. Any other key in a
 * file is dropped: a crafted setting cannot reach code that trusts what it reads back.
 */
const IMPORTABLE_SETTINGS: Record<string, v.GenericSchema> = {
  'library.selected': v.pipe(
    v.array(v.pipe(v.string(), v.maxLength(MAX_ID_CHARS))),
    v.maxLength(MAX_DOC_IDS_PER_RUN),
  ),
  'library.open': v.nullable(v.pipe(v.string(), v.maxLength(MAX_ID_CHARS))),
};

/** An export read and checked: records rebuilt from their known fields, ready to store. */
export interface ParsedExport {
  schemaVersion: number;
  exportedAt: string;
  scope: ExportScope;
  documents: DocumentIn[];
  runs: ExportedRunIn[];
  settings: SettingRecord[];
  /** Settings left out because their key is unknown (or a secret). */
  droppedSettings: number;
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => !!x && typeof x === 'object' && !Array.isArray(x);

function fail(path: string, problem: string): never {
  throw new ImportFormatError(`${path} ${problem}.`, path);
}

function checkVersion(data: Obj): number {
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
  return version;
}

function notAnExport(): never {
  throw new ImportFormatError(`it is JSON but not a Précis export (it has no "format": "${EXPORT_FORMAT}").`);
}

/** Collects validated records as they are read, in file order. */
export class ExportCollector {
  readonly out: ParsedExport;
  private counts = { documents: 0, runs: 0, settings: 0 };

  constructor(header: Obj) {
    if (header.format !== EXPORT_FORMAT) notAnExport();
    this.out = {
      schemaVersion: checkVersion(header),
      exportedAt: typeof header.exportedAt === 'string' ? header.exportedAt : '',
      scope: header.scope === 'run' ? 'run' : 'library',
      documents: [],
      runs: [],
      settings: [],
      droppedSettings: 0,
    };
  }

  document(value: unknown): void {
    const path = `documents[${this.counts.documents++}]`;
    const r = check(documentSchema, value, path);
    if (!r.ok) fail(r.problem.path, r.problem.problem);
    this.out.documents.push(r.value);
  }

  run(value: unknown): void {
    const path = `runs[${this.counts.runs++}]`;
    const r = check(exportedRunSchema, value, path);
    if (!r.ok) fail(r.problem.path, r.problem.problem);
    const inconsistent = runConsistency(r.value, path);
    if (inconsistent) fail(inconsistent.path, inconsistent.problem);
    this.out.runs.push(r.value);
  }

  setting(value: unknown): void {
    const path = `settings[${this.counts.settings++}]`;
    const r = check(settingSchema, value, path);
    if (!r.ok) fail(r.problem.path, r.problem.problem);
    const schema = IMPORTABLE_SETTINGS[r.value.key];
    if (!schema || isSecretKey(r.value.key)) {
      this.out.droppedSettings++;
      return;
    }
    const val = check(schema, r.value.value, `${path}.value`);
    if (!val.ok) fail(val.problem.path, val.problem.problem);
    this.out.settings.push({ key: r.value.key, value: val.value });
  }

  /** One NDJSON line after the header (line numbers count from 1, the header). */
  line(value: unknown, lineNumber: number): void {
    if (!isObj(value)) fail(`line ${lineNumber}`, 'should be an object');
    if ('document' in value) this.document(value.document);
    else if ('run' in value) this.run(value.run);
    else if ('setting' in value) this.setting(value.setting);
    else fail(`line ${lineNumber}`, 'should hold a "document", a "run" or a "setting"');
  }

  /** A schema-1 file: one object with the lists. */
  legacy(data: Obj): void {
    for (const key of ['documents', 'runs', 'settings'] as const) {
      if (data[key] !== undefined && !Array.isArray(data[key])) fail(key, 'should be a list');
    }
    for (const d of (data.documents as unknown[] | undefined) ?? []) this.document(d);
    for (const r of (data.runs as unknown[] | undefined) ?? []) this.run(r);
    for (const s of (data.settings as unknown[] | undefined) ?? []) this.setting(s);
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ImportFormatError(`${what} is not JSON (${err instanceof Error ? err.message : String(err)}).`);
  }
}

/**
 * Read an export from a stream of text (a file through `TextDecoderStream`), line by line, so a
 * file of any size is never one string. A file whose first line is not a schema-2 header is
 * read as one JSON document (schema 1, written on one line or pretty-printed).
 */
export async function readExport(stream: ReadableStream<string>): Promise<ParsedExport> {
  const reader = stream.getReader();
  let collector: ExportCollector | null = null;
  /** Text of a schema-1 file (it is one JSON value). */
  let whole: string[] | null = null;
  let lineNumber = 0;
  let carry: string[] = [];
  const take = (line: string) => {
    lineNumber++;
    if (whole) {
      whole.push(line, '\n');
      return;
    }
    if (lineNumber === 1) {
      let first: unknown;
      try {
        first = JSON.parse(line);
      } catch {
        whole = [line, '\n'];
        return;
      }
      if (!isObj(first)) notAnExport();
      collector = new ExportCollector(first);
      if (collector.out.schemaVersion === 1) collector.legacy(first);
      return;
    }
    if (line.trim() === '') return;
    collector!.line(parseJson(line, `line ${lineNumber}`), lineNumber);
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let from = 0;
      for (let nl = value.indexOf('\n'); nl !== -1; nl = value.indexOf('\n', from)) {
        carry.push(value.slice(from, nl));
        take(carry.join(''));
        carry = [];
        from = nl + 1;
      }
      if (from < value.length) carry.push(from === 0 ? value : value.slice(from));
    }
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    throw err;
  }
  const rest = carry.join('');
  if (rest.trim() !== '' || lineNumber === 0) take(rest);
  if (whole) {
    const text = (whole as string[]).join('');
    const data = parseJson(text, 'it');
    if (!isObj(data)) notAnExport();
    const legacy = new ExportCollector(data);
    legacy.legacy(data);
    return legacy.out;
  }
  if (!collector) throw new ImportFormatError('it is empty.');
  return (collector as ExportCollector).out;
}

/** `readExport` over a string (tests, small files). */
export function parseExport(text: string): Promise<ParsedExport> {
  return readExport(
    new ReadableStream<string>({
      start(controller) {
        controller.enqueue(text);
        controller.close();
      },
    }),
  );
}
