/**
 * Evaluation sets: items {context, question, answer, options?} from JSON Lines or CSV, validated
 * with named errors that give the line number (EvalItemsError). CSV is parsed by papaparse (a
 * maintained parser that handles quoted fields, embedded newlines and commas); its `options`
 * column holds either a JSON array of strings or the options separated by " | ".
 *
 * Multiple choice: `options` is a list of 2..26 strings and `answer` the letter of the right one
 * (A for the first). Free answer: no options, `answer` is the reference text.
 */
import Papa from 'papaparse';
import { PrecisError } from '../errors';

export interface EvalItem {
  context: string;
  question: string;
  answer: string;
  options?: string[];
}

export class EvalItemsError extends PrecisError {
  constructor(
    readonly source: string,
    readonly line: number | null,
    detail: string,
  ) {
    super('EvalItemsError', `${source}${line !== null ? ` line ${line}` : ''}: ${detail}`);
  }
}

export const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export function letterOf(index: number): string {
  return LETTERS[index];
}

/** Check one parsed record; `line` is 1-based in the source file. */
export function validateItem(raw: unknown, source: string, line: number): EvalItem {
  const fail = (detail: string): never => {
    throw new EvalItemsError(source, line, detail);
  };
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) fail('an item must be an object {context, question, answer, options?}.');
  const r = raw as Record<string, unknown>;
  for (const key of ['context', 'question', 'answer'] as const) {
    if (typeof r[key] !== 'string') fail(`"${key}" must be a string.`);
    if ((r[key] as string).trim() === '') fail(`"${key}" is empty.`);
  }
  const item: EvalItem = { context: r.context as string, question: (r.question as string).trim(), answer: (r.answer as string).trim() };
  if (r.options !== undefined && r.options !== null && r.options !== '') {
    if (!Array.isArray(r.options) || !r.options.every((o) => typeof o === 'string' && o.trim() !== '')) {
      fail('"options" must be a list of non-empty strings.');
    }
    const options = (r.options as string[]).map((o) => o.trim());
    if (options.length < 2 || options.length > LETTERS.length) fail(`"options" needs 2 to ${LETTERS.length} entries (got ${options.length}).`);
    const letter = item.answer.toUpperCase();
    const index = LETTERS.indexOf(letter);
    if (letter.length !== 1 || index < 0 || index >= options.length) {
      fail(`with options, "answer" must be the letter of the right option, A to ${letterOf(options.length - 1)} (got "${item.answer}").`);
    }
    item.answer = letter;
    item.options = options;
  }
  return item;
}

/** JSON Lines: one item per line; blank lines are skipped. */
export function parseItemsJsonl(text: string, source = 'items'): EvalItem[] {
  const items: EvalItem[] = [];
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new EvalItemsError(source, i + 1, 'not valid JSON; each line must be one object {context, question, answer, options?}.');
    }
    items.push(validateItem(parsed, source, i + 1));
  });
  if (items.length === 0) throw new EvalItemsError(source, null, 'no items.');
  return items;
}

function csvOptions(value: string, source: string, line: number): string[] | undefined {
  const v = value.trim();
  if (v === '') return undefined;
  if (v.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(v);
      if (Array.isArray(parsed)) return parsed as string[];
    } catch {
      /* reported below */
    }
    throw new EvalItemsError(source, line, '"options" starts with "[" but is not a JSON list of strings.');
  }
  return v.split(' | ');
}

/**
 * CSV with a header row naming the columns context, question, answer and optionally options.
 * Line numbers count physical lines (a quoted field may span several).
 */
export function parseItemsCsv(text: string, source = 'items'): EvalItem[] {
  const body = text.replace(/^\uFEFF/, '');
  const result = Papa.parse<string[]>(body, { header: false, skipEmptyLines: 'greedy' });
  // Physical line where each record starts: papaparse reports cursors only per error, so count
  // newlines up to each row by re-walking the rows' raw lengths is not possible; instead map
  // rows to lines with a second pass of the parser's step callback.
  const startLines: number[] = [];
  let cursorLine = 1;
  let lastCursor = 0;
  Papa.parse<string[]>(body, {
    header: false,
    skipEmptyLines: 'greedy',
    step: (row) => {
      // row.meta.cursor is the offset after the record; the record began at lastCursor.
      const begin = lastCursor;
      let lineAtBegin = cursorLine;
      const between = body.slice(begin, row.meta.cursor);
      const leading = /^[\r\n]*/.exec(between)?.[0] ?? '';
      lineAtBegin += (leading.match(/\n/g) ?? []).length;
      startLines.push(lineAtBegin);
      cursorLine += (between.match(/\n/g) ?? []).length;
      lastCursor = row.meta.cursor;
    },
  });
  const firstError = result.errors[0];
  if (firstError) {
    const line = firstError.row !== undefined && firstError.row !== null ? (startLines[firstError.row] ?? null) : null;
    throw new EvalItemsError(source, line, `CSV ${firstError.message.replace(/\.$/, '')}.`);
  }
  const rows = result.data;
  if (rows.length === 0) throw new EvalItemsError(source, null, 'no header row.');
  const header = rows[0].map((h) => h.trim().toLowerCase());
  for (const key of ['context', 'question', 'answer']) {
    if (!header.includes(key)) throw new EvalItemsError(source, startLines[0] ?? 1, `the header row has no "${key}" column.`);
  }
  const col = (name: string) => header.indexOf(name);
  const items: EvalItem[] = [];
  for (let r = 1; r < rows.length; r++) {
    const line = startLines[r] ?? r + 1;
    const row = rows[r];
    if (row.length !== header.length) {
      throw new EvalItemsError(source, line, `has ${row.length} fields but the header has ${header.length}.`);
    }
    const rec: Record<string, unknown> = {
      context: row[col('context')],
      question: row[col('question')],
      answer: row[col('answer')],
    };
    if (col('options') >= 0) rec.options = csvOptions(row[col('options')], source, line);
    items.push(validateItem(rec, source, line));
  }
  if (items.length === 0) throw new EvalItemsError(source, null, 'no items.');
  return items;
}

/** By file name: .csv is CSV, anything else JSON Lines. */
export function parseItems(text: string, fileName: string): EvalItem[] {
  return /\.csv$/i.test(fileName) ? parseItemsCsv(text, fileName) : parseItemsJsonl(text, fileName);
}
