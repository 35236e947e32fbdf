/**
 * Helpers shared by the Node command lines (generate, score, mi) and the benchmarks: a small typed
 * argument parser, loading the reference engine from a model folder, and the error convention
 * (one JSON object on stdout on success; a plain message on stderr and exit code 1 on failure).
 *
 * Model folder rule: the fixture names (stories260K.bin + tok512.bin) when both are present;
 * otherwise exactly one checkpoint and one tokenizer among the folder's *.bin files, told apart
 * by content: a tokenizer is a file (at most 64 MB) that starts with an int32 max_token_length in
 * 1..4096 and whose entries (float32 score, int32 length <= max_token_length, bytes) end exactly
 * at the end of the file; the other *.bin is the checkpoint (validated when parsed). The engine is named after the checkpoint file (without .bin).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Engine } from '../src/lib/core/engine';
import { errorMessage, errorName } from '../src/lib/core/errors';
import { ReferenceEngine, type ReferenceEngineOptions } from '../workers/engines/reference/engine';
import type { OnnxEngine } from '../workers/engines/onnx/engine';

export type ArgKind = 'string' | 'number' | 'boolean' | 'ids';
export type ArgSpec = Record<string, ArgKind>;
type ArgValue<K extends ArgKind> = K extends 'string'
  ? string
  : K extends 'number'
    ? number
    : K extends 'boolean'
      ? boolean
      : number[];
export type ParsedArgs<S extends ArgSpec> = { [K in keyof S]?: ArgValue<S[K]> };

/** A usage problem: the command prints the message (and a hint to use --help) and exits 1. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Parse `--name value` / `--name=value` flags by a spec. Kinds: string, number (finite),
 * boolean (flag without value), ids (comma-separated whole numbers, e.g. 1,2,3; empty allowed).
 * Unknown flags and stray positional arguments are errors.
 */
export function parseArgs<S extends ArgSpec>(argv: string[], spec: S): ParsedArgs<S> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new UsageError(`Unexpected argument "${arg}".`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!kind) throw new UsageError(`Unknown option --${name}.`);
    if (kind === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value.`);
      out[name] = true;
      continue;
    }
    let raw: string;
    if (eq >= 0) raw = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value.`);
      raw = argv[++i];
    }
    out[name] = convert(name, kind, raw);
  }
  return out as ParsedArgs<S>;
}

function convert(name: string, kind: ArgKind, raw: string): unknown {
  if (kind === 'string') return raw;
  if (kind === 'number') {
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v)) throw new UsageError(`--${name} needs a number, got "${raw}".`);
    return v;
  }
  const parts = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return parts.map((s) => {
    const v = Number(s);
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(v)) {
      throw new UsageError(`--${name} needs comma-separated token ids, got "${s}".`);
    }
    return v;
  });
}

/** Value of a required option, or a UsageError naming it. */
export function required<T>(value: T | undefined, flag: string): T {
  if (value === undefined) throw new UsageError(`Missing required option --${flag}.`);
  return value;
}

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/**
 * A tokenizer file is small and walks exactly: int32 max_token_length in 1..4096, then entries
 * (float32 score, int32 length in 0..max_token_length, bytes) that end exactly at the end of file.
 */
function looksLikeTokenizer(file: string): boolean {
  const size = statSync(file).size;
  if (size < 4 || size > 64 * 1024 * 1024) return false;
  const buf = readFileSync(file);
  const maxTokenLength = buf.readInt32LE(0);
  if (maxTokenLength < 1 || maxTokenLength > 4096) return false;
  let offset = 4;
  let entries = 0;
  while (offset + 8 <= buf.length) {
    const len = buf.readInt32LE(offset + 4);
    if (len < 0 || len > maxTokenLength || offset + 8 + len > buf.length) return false;
    offset += 8 + len;
    entries++;
  }
  return offset === buf.length && entries >= 3;
}

/** Find the checkpoint and tokenizer files of a model folder (see the module note for the rule). */
export function findModelFiles(dir: string): { checkpoint: string; tokenizer: string } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`Model folder "${dir}" does not exist.`);
  const fixture = { checkpoint: path.join(dir, 'stories260K.bin'), tokenizer: path.join(dir, 'tok512.bin') };
  if (existsSync(fixture.checkpoint) && existsSync(fixture.tokenizer)) return fixture;
  const bins = readdirSync(dir)
    .filter((f) => f.toLowerCase().endsWith('.bin'))
    .map((f) => path.join(dir, f))
    .filter((f) => statSync(f).isFile());
  // Tokenizers are recognised by content; every other *.bin is taken as the checkpoint, so a
  // damaged checkpoint still reaches the parser and gets its precise CheckpointFormatError.
  const tokenizers = bins.filter(looksLikeTokenizer);
  const checkpoints = bins.filter((f) => !tokenizers.includes(f));
  const names = (fs: string[]) => (fs.length ? fs.map((f) => path.basename(f)).join(', ') : 'none');
  if (checkpoints.length !== 1 || tokenizers.length !== 1) {
    throw new UsageError(
      `Model folder "${dir}" must hold one llama2.c checkpoint and one tokenizer (*.bin); ` +
        `found checkpoints: ${names(checkpoints)}; tokenizers: ${names(tokenizers)}.`,
    );
  }
  return { checkpoint: checkpoints[0], tokenizer: tokenizers[0] };
}

/** Load the reference engine from a model folder (throws CheckpointFormatError etc.). */
export function loadEngineFromDir(dir: string, options?: ReferenceEngineOptions): ReferenceEngine {
  const files = findModelFiles(dir);
  const name = path.basename(files.checkpoint).replace(/\.bin$/i, '');
  return ReferenceEngine.fromBytes(
    name,
    toArrayBuffer(readFileSync(files.checkpoint)),
    toArrayBuffer(readFileSync(files.tokenizer)),
    options,
  );
}

/** Engines the command lines can run: the reference engine (default) and the ONNX engine. */
export const CLI_ENGINES = ['reference', 'onnx'] as const;
export type CliEngineName = (typeof CLI_ENGINES)[number];

/** Text of the options every command shares for choosing an engine (for the usage texts). */
export const ENGINE_USAGE = `  --engine E         reference (default: llama2.c checkpoint, pure TypeScript, float64) or onnx
                     (a Hugging Face ONNX folder: config.json, tokenizer.json, onnx/model*.onnx,
                     run by transformers.js on onnxruntime-node, CPU)
  --dtype D          onnx only: weights variant (fp32, q8, q4, q4f16, ...; default: the model's
                     transformers.js_config dtype, else q4, q8, fp32 in that order of preference)`;

/**
 * Load the engine a command asked for. onnx: --model is a folder in the stories260K-onnx layout
 * (ModelFormatError, UnsupportedModelError, UnsupportedDtypeError on bad input).
 */
export async function loadCliEngine(
  engine: string | undefined,
  dir: string,
  dtype?: string,
): Promise<Engine & { decodeAfter(ids: number[], anchor: number | undefined): string }> {
  const name = engine ?? 'reference';
  if (!(CLI_ENGINES as readonly string[]).includes(name)) throw new UsageError(`--engine must be one of ${CLI_ENGINES.join(', ')} (got "${name}").`);
  if (name === 'reference') {
    if (dtype !== undefined) throw new UsageError('--dtype applies to --engine onnx only.');
    const e = loadEngineFromDir(dir);
    return Object.assign(e, { decodeAfter: (ids: number[], anchor: number | undefined) => e.tokenizer.decode(ids, anchor ?? null) });
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`Model folder "${dir}" does not exist.`);
  const { loadOnnxEngine } = await import('../workers/engines/onnx/load');
  const e: OnnxEngine = await loadOnnxEngine({ kind: 'dir', path: dir }, { device: 'cpu', dtype: dtype ?? null });
  return e;
}

/**
 * Run a command's main: print its result as one JSON line on stdout, or print the error message
 * on stderr and exit 1. `--help` prints the usage text on stdout and exits 0.
 */
export async function runCommand(argv: string[], usage: string, main: () => Promise<unknown>): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage.trimEnd() + '\n');
    return;
  }
  try {
    const result = await main();
    process.stdout.write(JSON.stringify(result) + '\n');
  } catch (err) {
    const usageProblem = err instanceof UsageError;
    const name = errorName(err);
    const prefix = usageProblem || name === 'Error' ? '' : `${name}: `;
    const hint = usageProblem ? '\nRun with --help for usage.' : '';
    process.stderr.write(`${prefix}${errorMessage(err)}${hint}\n`);
    process.exitCode = 1;
  }
}
