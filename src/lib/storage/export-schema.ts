/**
 * What an imported record may hold, as valibot schemas. Pure: no database here.
 *
 * Each schema is a whitelist: `v.object` keeps only the keys it names, so a record is rebuilt
 * from known fields and anything else in the file is dropped. Every field is type- and
 * range-checked against `limits.ts`; cross-field rules (a compression's context inside the
 * bank, one log-probability per id) are checked after the shapes. A failure names the path of
 * the bad field in the file, e.g. `runs[1].exchanges[0]`.
 *
 * valibot was chosen over zod for its size (each check is a function the bundler keeps only if
 * used: a few kilobytes here, where zod ships its whole library) and because its issues carry
 * the path of the failing field, which the error message needs.
 */
import * as v from 'valibot';
import * as L from './limits';
import type { BankEntry, CompressionRecord, DocKind, ExchangeRecord, RunRecord, RunStatus } from './schema';

const DOC_KINDS = ['text', 'markdown', 'html', 'pdf', 'pasted'] as const satisfies readonly DocKind[];
const RUN_STATUSES = ['running', 'done', 'cancelled', 'interrupted', 'failed'] as const satisfies readonly RunStatus[];

const str = (max: number) => v.pipe(v.string(), v.maxLength(max, `should be at most ${max.toLocaleString('en')} characters long`));
const id = v.pipe(v.string(), v.minLength(1, 'should not be empty'), v.maxLength(L.MAX_ID_CHARS, `should be at most ${L.MAX_ID_CHARS} characters long`));
const num = v.pipe(v.number(), v.finite());
const nonNeg = v.pipe(v.number(), v.finite(), v.minValue(0));
const int = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));
const time = nonNeg;
/** A list of at most `max` items, said as such when longer (checked before its items). */
const list = <T extends v.GenericSchema>(item: T, max: number) =>
  v.pipe(v.array(item), v.maxLength(max, `should hold at most ${max.toLocaleString('en')} entries`));
/** A float that JSON may have written as null (NaN and infinities have no JSON form). */
const numOrNull = v.nullable(num);
const namedError = v.nullish(v.object({ name: str(L.MAX_NAME_CHARS), message: str(L.MAX_QUESTION_CHARS) }));

export const documentSchema = v.object({
  id,
  title: str(L.MAX_TITLE_CHARS),
  kind: v.picklist(DOC_KINDS),
  text: str(L.MAX_DOCUMENT_CHARS),
  createdAt: time,
  mime: v.optional(str(L.MAX_NAME_CHARS)),
  sizeBytes: v.optional(nonNeg),
});
export type DocumentIn = v.InferOutput<typeof documentSchema>;

export const runSettingsSchema = v.object({
  temperature: v.pipe(num, v.minValue(0), v.maxValue(L.MAX_TEMPERATURE)),
  topP: v.pipe(num, v.minValue(Number.MIN_VALUE, 'should be above 0'), v.maxValue(1)),
  maxTokens: int(1, L.MAX_COMPRESSION_TOKENS),
  seed: int(0, L.MAX_SEED),
  samplesPerContext: int(1, L.MAX_SAMPLES_PER_CONTEXT),
  sentenceBudget: v.optional(int(0, L.MAX_SENTENCE_BUDGET)),
});

const bankEntrySchema = v.object({ docId: id, chunkIndex: int(0, Number.MAX_SAFE_INTEGER), text: str(L.MAX_PASSAGE_CHARS) });

const countersSchema = v.object({ prefillTokens: nonNeg, decodeSteps: nonNeg, forwardCalls: nonNeg });

const summarySchema = v.object({
  miNats: num,
  miBits: num,
  miNatsClipped: num,
  miBitsClipped: num,
  ceilingNats: num,
  ceilingBits: num,
  stdErrNats: numOrNull,
  stdErrBits: numOrNull,
  meanTokens: num,
  bitsPerToken: numOrNull,
  n: int(0, L.MAX_BANK_PASSAGES),
  m: int(0, L.MAX_SAMPLES_PER_CONTEXT),
  count: int(0, L.MAX_BANK_PASSAGES * L.MAX_SAMPLES_PER_CONTEXT),
});

/** RunRecord.miResult as the run flow stores it (src/lib/state/run.svelte.ts, StoredMiResult). */
export const miResultSchema = v.object({
  kind: v.picklist(['measured', 'not-measured']),
  reason: v.optional(str(L.MAX_QUESTION_CHARS)),
  summary: v.optional(summarySchema),
  warnings: v.optional(list(str(L.MAX_QUESTION_CHARS), L.MAX_WARNINGS)),
  flags: v.optional(v.object({ truncated: nonNeg, empty: nonNeg })),
  modelId: str(L.MAX_NAME_CHARS),
  scorerModelId: v.optional(str(L.MAX_NAME_CHARS)),
  promptStyle: str(L.MAX_NAME_CHARS),
  templateVersion: str(L.MAX_NAME_CHARS),
  promptTokens: list(nonNeg, L.MAX_BANK_PASSAGES),
  timings: v.object({ generationMs: nonNeg, scoringMs: nonNeg }),
  counters: v.object({ generation: countersSchema, scoring: countersSchema }),
});

const tokens = <T extends v.GenericSchema>(item: T) => list(item, L.MAX_COMPRESSION_TOKENS);

export const compressionSchema = v.object({
  index: int(0, L.MAX_BANK_PASSAGES * L.MAX_SAMPLES_PER_CONTEXT - 1),
  context: int(0, L.MAX_BANK_PASSAGES - 1),
  sample: int(0, L.MAX_SAMPLES_PER_CONTEXT - 1),
  text: str(L.MAX_PASSAGE_CHARS),
  ids: tokens(int(0, 2 ** 31 - 1)),
  logprobsNats: tokens(num),
  seed: v.optional(int(0, L.MAX_SEED)),
  tokenTexts: v.optional(tokens(str(L.MAX_NAME_CHARS))),
  stopReason: v.optional(v.picklist(['stop', 'length'])),
  termNats: v.optional(num),
  pmiNats: v.optional(tokens(num)),
  truncated: v.boolean(),
  empty: v.boolean(),
  savedAt: v.optional(time),
});

const messageSchema = v.object({ role: v.picklist(['system', 'user', 'assistant']), content: str(L.MAX_MESSAGE_CHARS) });

export const exchangeSchema = v.object({
  host: str(L.MAX_NAME_CHARS * 4),
  model: str(L.MAX_NAME_CHARS),
  at: time,
  messages: list(messageSchema, L.MAX_MESSAGES),
  response: str(L.MAX_MESSAGE_CHARS),
  usage: v.nullish(
    v.object({ promptTokens: v.optional(nonNeg), completionTokens: v.optional(nonNeg), totalTokens: v.optional(nonNeg) }),
  ),
  durationMs: v.optional(nonNeg),
  error: namedError,
});

/** The engine's load report stored with a run (`EngineLoadReport` in core/engine.ts). */
const NOTE_MAX_CHARS = 2000;
const engineReportSchema = v.object({
  promptReuse: v.boolean(),
  promptReuseNote: str(NOTE_MAX_CHARS),
  fastPath: v.boolean(),
  fastPathNote: str(NOTE_MAX_CHARS),
  fastPathMaxDiffNats: v.nullable(nonNeg),
  fastPathToleranceNats: nonNeg,
  fastPathRmsDiffNats: v.optional(v.nullable(nonNeg)),
  fastPathRmsToleranceNats: v.optional(nonNeg),
});

export const runSchema = v.object({
  id,
  createdAt: time,
  updatedAt: v.optional(time),
  finishedAt: v.nullish(time),
  status: v.picklist(RUN_STATUSES),
  question: str(L.MAX_QUESTION_CHARS),
  docIds: list(id, L.MAX_DOC_IDS_PER_RUN),
  modelId: str(L.MAX_NAME_CHARS),
  settings: runSettingsSchema,
  bank: list(bankEntrySchema, L.MAX_BANK_PASSAGES),
  miResult: v.nullish(miResultSchema),
  error: namedError,
  engineReport: v.optional(engineReportSchema),
  scorerModelId: v.optional(str(L.MAX_NAME_CHARS)),
  compressorHost: v.optional(str(L.MAX_NAME_CHARS)),
});

export const exportedRunSchema = v.object({
  run: runSchema,
  compressions: list(compressionSchema, L.MAX_BANK_PASSAGES * L.MAX_SAMPLES_PER_CONTEXT),
  exchanges: v.optional(list(exchangeSchema, L.MAX_EXCHANGES_PER_RUN)),
});
export type ExportedRunIn = v.InferOutput<typeof exportedRunSchema>;

export const settingSchema = v.object({ key: str(L.MAX_NAME_CHARS), value: v.unknown() });

/** A field that failed validation: where it is in the file, and what is wrong with it. */
export interface FieldProblem {
  path: string;
  problem: string;
}

/** `runs[1].exchanges[0]` from a prefix and a valibot issue path. */
function pathOf(prefix: string, issue: v.BaseIssue<unknown>): string {
  let out = prefix;
  for (const item of issue.path ?? []) {
    const key = item.key;
    out += typeof key === 'number' ? `[${key}]` : `.${String(key)}`;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length.toLocaleString('en')} characters` : JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function problemOf(issue: v.BaseIssue<unknown>): string {
  if (issue.kind === 'schema') {
    if (issue.input === undefined) return 'is missing';
    const expected: Record<string, string> = { Object: 'an object', Array: 'a list', number: 'a number', string: 'a string', boolean: 'true or false' };
    return `should be ${expected[issue.expected ?? ''] ?? issue.expected ?? 'something else'} (it is ${describe(issue.input)})`;
  }
  // Validation messages from this module read as a predicate; valibot's own say "Invalid …".
  if (issue.message && !issue.message.startsWith('Invalid')) return issue.message;
  if (issue.type === 'integer') return `should be a whole number (it is ${describe(issue.input)})`;
  if (issue.type === 'finite') return 'should be a finite number';
  if (issue.type === 'min_value') return `should be at least ${issue.requirement as number} (it is ${describe(issue.input)})`;
  if (issue.type === 'max_value') return `should be at most ${(issue.requirement as number).toLocaleString('en')} (it is ${describe(issue.input)})`;
  return `is not valid (${issue.message})`;
}

/** Validate `value` against `schema`; the first problem found, or the rebuilt record. */
export function check<S extends v.GenericSchema>(
  schema: S,
  value: unknown,
  path: string,
): { ok: true; value: v.InferOutput<S> } | { ok: false; problem: FieldProblem } {
  const result = v.safeParse(schema, value, { abortEarly: true });
  if (result.success) return { ok: true, value: result.output };
  const issue = result.issues[0];
  return { ok: false, problem: { path: pathOf(path, issue), problem: problemOf(issue) } };
}

/** Rules between fields of one exported run that no single field's schema can see. */
export function runConsistency(r: ExportedRunIn, path: string): FieldProblem | null {
  const { run } = r;
  const m = run.settings.samplesPerContext;
  const seen = new Set<number>();
  for (const [i, c] of r.compressions.entries()) {
    const cp = `${path}.compressions[${i}]`;
    if (c.context >= run.bank.length) return { path: `${cp}.context`, problem: `should point into the bank of ${run.bank.length} passages` };
    if (c.sample >= m) return { path: `${cp}.sample`, problem: `should be below samplesPerContext (${m})` };
    if (c.index !== c.context * m + c.sample) return { path: `${cp}.index`, problem: 'should be context × samplesPerContext + sample' };
    if (seen.has(c.index)) return { path: `${cp}.index`, problem: 'appears twice' };
    seen.add(c.index);
    if (c.logprobsNats.length !== c.ids.length) return { path: `${cp}.logprobsNats`, problem: 'should hold one number per id' };
    if (c.tokenTexts && c.tokenTexts.length !== c.ids.length) return { path: `${cp}.tokenTexts`, problem: 'should hold one text per id' };
    if (c.pmiNats && c.pmiNats.length !== c.ids.length) return { path: `${cp}.pmiNats`, problem: 'should hold one number per id' };
  }
  return null;
}

/** The stored shapes rebuilt from validated input (only known fields, defaults filled in). */
export function runRecordOf(r: ExportedRunIn): { run: RunRecord; compressions: Omit<CompressionRecord, 'runId'>[]; exchanges: Omit<ExchangeRecord, 'runId'>[] } {
  const { run } = r;
  const bank: BankEntry[] = run.bank.map((b) => ({ docId: b.docId, chunkIndex: b.chunkIndex, text: b.text }));
  return {
    run: {
      id: run.id,
      createdAt: run.createdAt,
      updatedAt: run.updatedAt ?? run.createdAt,
      finishedAt: run.finishedAt ?? null,
      status: run.status,
      question: run.question,
      docIds: [...run.docIds],
      modelId: run.modelId,
      settings: run.settings,
      bank,
      miResult: run.miResult ?? null,
      error: run.error ?? null,
      ...(run.engineReport ? { engineReport: run.engineReport } : {}),
      ...(run.scorerModelId ? { scorerModelId: run.scorerModelId } : {}),
      ...(run.compressorHost ? { compressorHost: run.compressorHost } : {}),
    },
    compressions: r.compressions.map((c) => ({ ...c, savedAt: c.savedAt ?? run.updatedAt ?? run.createdAt })),
    exchanges: (r.exchanges ?? []).map((e) => ({ ...e, usage: e.usage ?? null })),
  };
}

/**
 * A stored run checked again before it is resumed: the same rules as an import, so a record
 * written by an older version (or by hand) cannot send an oversized bank or M to the worker.
 */
export function resumeProblem(run: RunRecord): FieldProblem | null {
  const settings = check(runSettingsSchema, run.settings, 'settings');
  if (!settings.ok) return settings.problem;
  const bank = check(list(bankEntrySchema, L.MAX_BANK_PASSAGES), run.bank, 'bank');
  return bank.ok ? null : bank.problem;
}
