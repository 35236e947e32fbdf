/**
 * A sweep's plan: the grid (models × budgets × temperatures, S seeds each, M samples per
 * context), the bank, the question or evaluation items, the scorer. Validation with named errors
 * (SweepConfigError), the model-independent split of the bank, and the time estimate.
 */
import { chunkText } from '../chunking';
import { PrecisError } from '../errors';
import type { EvalItem } from './eval-items';
import type { JudgeKind } from './judge';

export class SweepConfigError extends PrecisError {
  constructor(detail: string) {
    super('SweepConfigError', `Sweep configuration: ${detail}`);
  }
}

export class SweepTooLargeError extends PrecisError {
  constructor(readonly estimatedSeconds: number, readonly limitSeconds: number) {
    super(
      'SweepTooLargeError',
      `This grid would take about ${formatDuration(estimatedSeconds)} (limit ${formatDuration(limitSeconds)}). ` +
        'Use fewer models, budgets, temperatures, seeds, samples or contexts.',
    );
  }
}

export type BudgetUnit = 'tokens' | 'sentences';

export interface SweepPlan {
  engine: string;
  /** Model references as the caller's engine loader understands them (CLI: folders). */
  models: string[];
  /** 'self' (each compressor scores its own compressions) or one fixed model reference. */
  scorer: string;
  /** The bank: passages, each compressed and used as a context for every score. */
  bank: string[];
  /** Shared question (without eval). */
  question: string;
  /** With eval: the items; itemContext[i] is the bank index of item i's context. */
  items?: EvalItem[];
  itemContext?: number[];
  budgets: number[];
  budgetUnit: BudgetUnit;
  /** Token cap of every compression when budgets are sentences. */
  maxTokens: number;
  temperatures: number[];
  samples: number;
  seeds: number[];
  judge?: JudgeKind;
  baselines: { none: boolean; raw: boolean };
  /**
   * Server engines only: the prompt style the server builds prompts with (it changes every
   * prompt id, so it is part of the plan and its hash). In-page engines take it from the model.
   */
  promptStyle?: 'plain' | 'chat';
}

export interface ConfigKey {
  model: string;
  budget: number;
  temperature: number;
}

/** Model-major order: every configuration of a model runs while that model is loaded. */
export function configurations(plan: SweepPlan): ConfigKey[] {
  const out: ConfigKey[] = [];
  for (const model of plan.models) for (const budget of plan.budgets) for (const temperature of plan.temperatures) out.push({ model, budget, temperature });
  return out;
}

/** Compressions per run: one slot per context (no eval) or per item (eval), M samples each. */
export function slotsPerRun(plan: SweepPlan): number {
  return plan.items ? plan.items.length : plan.bank.length;
}

export function maxTokensOf(plan: SweepPlan, budget: number): number {
  return plan.budgetUnit === 'tokens' ? budget : plan.maxTokens;
}

function wholeList(v: unknown, name: string, min: number): number[] {
  if (!Array.isArray(v) || v.length === 0) throw new SweepConfigError(`"${name}" must be a non-empty list.`);
  for (const x of v) {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min) throw new SweepConfigError(`every entry of "${name}" must be a whole number >= ${min} (got ${JSON.stringify(x)}).`);
  }
  if (new Set(v).size !== v.length) throw new SweepConfigError(`"${name}" lists a value twice.`);
  return v as number[];
}

/** Validate the grid part of a parsed config object. */
export function validateGrid(raw: Record<string, unknown>): Pick<SweepPlan, 'models' | 'budgets' | 'budgetUnit' | 'maxTokens' | 'temperatures' | 'samples' | 'seeds' | 'scorer'> {
  const models = raw.models;
  if (!Array.isArray(models) || models.length === 0 || !models.every((m) => typeof m === 'string' && m.trim() !== '')) {
    throw new SweepConfigError('"models" must be a non-empty list of model names.');
  }
  if (new Set(models).size !== models.length) throw new SweepConfigError('"models" lists a model twice.');
  const budgetUnit = raw.budgetUnit ?? 'tokens';
  if (budgetUnit !== 'tokens' && budgetUnit !== 'sentences') throw new SweepConfigError('"budgetUnit" must be "tokens" or "sentences".');
  const budgets = wholeList(raw.budgets, 'budgets', 1);
  let maxTokens = 0;
  if (budgetUnit === 'sentences') {
    if (typeof raw.maxTokens !== 'number' || !Number.isInteger(raw.maxTokens) || raw.maxTokens < 1) {
      throw new SweepConfigError('with "budgetUnit": "sentences", "maxTokens" (the token cap of each compression) must be a whole number >= 1.');
    }
    maxTokens = raw.maxTokens;
  } else {
    maxTokens = Math.max(...budgets);
  }
  const temps = raw.temperatures ?? [1];
  if (!Array.isArray(temps) || temps.length === 0 || !temps.every((t) => typeof t === 'number' && Number.isFinite(t) && t >= 0 && t <= 5)) {
    throw new SweepConfigError('"temperatures" must be a non-empty list of numbers in [0, 5].');
  }
  const samples = raw.samples ?? 1;
  if (typeof samples !== 'number' || !Number.isInteger(samples) || samples < 1) throw new SweepConfigError('"samples" must be a whole number >= 1.');
  const seeds = wholeList(raw.seeds ?? [0], 'seeds', 0);
  const scorer = raw.scorer ?? 'self';
  if (typeof scorer !== 'string' || scorer.trim() === '') throw new SweepConfigError('"scorer" must be "self" or a model name.');
  return { models: models as string[], budgets, budgetUnit, maxTokens, temperatures: temps as number[], samples, seeds, scorer };
}

export type SweepServerKind = 'vllm' | 'sglang';

/** How a sweep reaches an inference server (not part of the plan: a new address may resume). */
export interface SweepServer {
  kind: SweepServerKind;
  baseURL: string;
  promptStyle: 'plain' | 'chat';
  concurrency?: number;
  batchSize?: number;
  vllmScoring?: 'echo' | 'prompt_logprobs';
  /** Environment variable holding the API key. */
  apiKeyEnv?: string;
}

export interface ServerSweepFields {
  server: SweepServer;
  /** Served model names (compressors). */
  models: string[];
  /** 'self', a served name, or a local model folder run by the reference engine. */
  scorer: string;
  scorerKind: 'self' | 'server' | 'local';
}

const SERVER_ONLY_FIELDS = ['baseURL', 'servedModel', 'promptStyle', 'concurrency', 'batchSize', 'vllmScoring', 'apiKeyEnv'] as const;

function optionalWhole(raw: Record<string, unknown>, name: string): number | undefined {
  const v = raw[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new SweepConfigError(`"${name}" must be a whole number >= 1 (got ${JSON.stringify(v)}).`);
  return v;
}

/**
 * The server part of a sweep config (`"engine": "vllm" | "sglang"`): the address, the served
 * model(s) (`"servedModel"` for one, or `"models"` for several names on the same server or
 * router), the scorer and the request settings; refuses bad combinations by name. `isLocalDir`
 * tells a scorer that is a local model folder (run by the reference engine) from a served name.
 * For `"engine": "reference"` the server-only fields are refused and null is returned.
 */
export function validateServerSweep(raw: Record<string, unknown>, isLocalDir: (ref: string) => boolean): ServerSweepFields | null {
  const engine = raw.engine ?? 'reference';
  if (engine !== 'reference' && engine !== 'vllm' && engine !== 'sglang' && !isSweepChatKind(engine)) {
    throw new SweepConfigError(
      `"engine" must be "reference", "vllm", "sglang" or a generate-only kind (${SWEEP_CHAT_KINDS.map((k) => `"${k}"`).join(', ')}) (got ${JSON.stringify(engine)}).`,
    );
  }
  if (isSweepChatKind(engine)) return null;
  const strayChat = CHAT_ONLY_FIELDS.filter((f) => raw[f] !== undefined);
  if (strayChat.length > 0) {
    throw new SweepConfigError(`${strayChat.map((f) => `"${f}"`).join(', ')} apply to generate-only compressors only ("engine": ${SWEEP_CHAT_KINDS.map((k) => `"${k}"`).join(', ')}).`);
  }
  if (engine === 'reference') {
    const stray = SERVER_ONLY_FIELDS.filter((f) => raw[f] !== undefined);
    if (stray.length > 0) throw new SweepConfigError(`${stray.map((f) => `"${f}"`).join(', ')} apply to "engine": "vllm" or "sglang" only.`);
    return null;
  }
  const kind = engine as SweepServerKind;
  if (typeof raw.baseURL !== 'string' || raw.baseURL.trim() === '') throw new SweepConfigError(`"engine": "${kind}" needs "baseURL", the server's address (e.g. http://127.0.0.1:8000).`);
  if (!/^https?:\/\/[^/\s]+/i.test(raw.baseURL.trim())) throw new SweepConfigError(`"baseURL" must be an http:// or https:// address (got ${JSON.stringify(raw.baseURL)}).`);
  let models: string[];
  if (raw.servedModel !== undefined) {
    if (raw.models !== undefined) throw new SweepConfigError('give "servedModel" (one model) or "models" (several served names), not both.');
    if (typeof raw.servedModel !== 'string' || raw.servedModel.trim() === '') throw new SweepConfigError('"servedModel" must be the name the server serves (its --served-model-name).');
    models = [raw.servedModel];
  } else {
    if (!Array.isArray(raw.models) || raw.models.length === 0 || !raw.models.every((m) => typeof m === 'string' && m.trim() !== '')) {
      throw new SweepConfigError(`"engine": "${kind}" needs "servedModel" (or "models", a list of served names).`);
    }
    models = raw.models as string[];
  }
  const promptStyle = raw.promptStyle ?? 'plain';
  if (promptStyle !== 'plain' && promptStyle !== 'chat') throw new SweepConfigError('"promptStyle" must be "plain" or "chat".');
  if (promptStyle === 'chat' && kind === 'sglang') {
    throw new SweepConfigError('SGLang\'s /tokenize takes no chat messages, so "promptStyle": "chat" needs "engine": "vllm"; use "plain" with SGLang.');
  }
  const vllmScoring = raw.vllmScoring;
  if (vllmScoring !== undefined) {
    if (kind !== 'vllm') throw new SweepConfigError('"vllmScoring" applies to "engine": "vllm" only.');
    if (vllmScoring !== 'echo' && vllmScoring !== 'prompt_logprobs') throw new SweepConfigError('"vllmScoring" must be "echo" or "prompt_logprobs".');
  }
  const apiKeyEnv = raw.apiKeyEnv;
  if (apiKeyEnv !== undefined && (typeof apiKeyEnv !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(apiKeyEnv))) {
    throw new SweepConfigError('"apiKeyEnv" must name an environment variable (the key itself never goes in the config).');
  }
  const scorer = raw.scorer ?? 'self';
  if (typeof scorer !== 'string' || scorer.trim() === '') throw new SweepConfigError('"scorer" must be "self", a served model name or a local model folder.');
  const scorerKind = scorer === 'self' ? 'self' : isLocalDir(scorer) ? 'local' : 'server';
  if (scorerKind !== 'local') {
    const temps = Array.isArray(raw.temperatures) ? (raw.temperatures as unknown[]) : [1];
    const bad = temps.filter((t) => t !== 0 && t !== 1);
    if (bad.length > 0) {
      throw new SweepConfigError(
        `temperatures ${bad.map((t) => JSON.stringify(t)).join(', ')} cannot be scored by a server: vLLM and SGLang return log-probabilities at temperature 1 only (ServerTemperatureError). ` +
          'Use temperatures 1 (or 0, greedy, scored at 1), or a local model folder as "scorer".',
      );
    }
  }
  return {
    server: {
      kind,
      baseURL: raw.baseURL.trim(),
      promptStyle,
      concurrency: optionalWhole(raw, 'concurrency'),
      batchSize: optionalWhole(raw, 'batchSize'),
      ...(vllmScoring !== undefined ? { vllmScoring: vllmScoring as 'echo' | 'prompt_logprobs' } : {}),
      ...(apiKeyEnv !== undefined ? { apiKeyEnv: apiKeyEnv as string } : {}),
    },
    models,
    scorer,
    scorerKind,
  };
}

/** Generate-only compressor kinds (workers/engines/chat/wire.ts CHAT_KINDS; a test keeps them equal). */
export const SWEEP_CHAT_KINDS = ['ollama', 'lmstudio', 'llama-server', 'openai-chat'] as const;
export type SweepChatKind = (typeof SWEEP_CHAT_KINDS)[number];

export function isSweepChatKind(x: unknown): x is SweepChatKind {
  return typeof x === 'string' && (SWEEP_CHAT_KINDS as readonly string[]).includes(x);
}

const CHAT_ONLY_FIELDS = ['scorerServer', 'confirmHost', 'stream'] as const;

/** How a sweep reaches a generate-only compressor (not part of the plan, as SweepServer). */
export interface SweepChatCompressor {
  kind: SweepChatKind;
  /** Undefined: the kind's default address. */
  baseURL?: string;
  concurrency?: number;
  stream: boolean;
  /** The host named by "confirmHost": raw contexts may go there though it is not this machine. */
  confirmHost?: string;
  apiKeyEnv?: string;
}

export interface ChatSweepFields {
  compressor: SweepChatCompressor;
  /** Compressor model names, as the server lists them. */
  models: string[];
  /** A local model folder, or a model served by `scorerServer`. */
  scorer: string;
  scorerKind: 'server' | 'local';
  /** The scoring server, when the scorer is served (vLLM or SGLang). */
  scorerServer?: SweepServer;
}

/**
 * A sweep whose compressors are generate-only servers (`"engine": "ollama"` and the other
 * SWEEP_CHAT_KINDS): they write, and one fixed scorer scores every text, so "scorer" is
 * required; it is a local model folder, or a name served by `"scorerServer": {"engine":
 * "vllm" | "sglang", "baseURL", ...}` (the server fields of validateServerSweep). Null for the
 * other engines.
 */
export function validateChatSweep(raw: Record<string, unknown>, isLocalDir: (ref: string) => boolean): ChatSweepFields | null {
  const kind = raw.engine;
  if (!isSweepChatKind(kind)) return null;
  for (const f of ['servedModel', 'promptStyle', 'batchSize', 'vllmScoring'] as const) {
    if (raw[f] !== undefined) throw new SweepConfigError(`"${f}" does not apply to a generate-only compressor${f === 'servedModel' ? ' (list its model names in "models")' : ' (give it in "scorerServer")'}.`);
  }
  if (!Array.isArray(raw.models) || raw.models.length === 0 || !raw.models.every((m) => typeof m === 'string' && m.trim() !== '')) {
    throw new SweepConfigError(`"engine": "${kind}" needs "models", the model names the server lists at /v1/models.`);
  }
  let baseURL: string | undefined;
  if (raw.baseURL !== undefined) {
    if (typeof raw.baseURL !== 'string' || !/^https?:\/\/[^/\s]+/i.test(raw.baseURL.trim())) {
      throw new SweepConfigError(`"baseURL" must be an http:// or https:// address (got ${JSON.stringify(raw.baseURL)}).`);
    }
    baseURL = raw.baseURL.trim();
  }
  const scorer = raw.scorer;
  if (scorer === undefined || scorer === 'self') {
    throw new SweepConfigError(
      `a generate-only compressor cannot score text, so "scorer" is required: a local model folder, or a model served by "scorerServer" (vLLM or SGLang).`,
    );
  }
  if (typeof scorer !== 'string' || scorer.trim() === '') throw new SweepConfigError('"scorer" must be a local model folder or a served model name.');
  let scorerServer: SweepServer | undefined;
  let scorerKind: ChatSweepFields['scorerKind'];
  if (raw.scorerServer !== undefined) {
    const ss = raw.scorerServer as Record<string, unknown> | null;
    if (!ss || typeof ss !== 'object' || Array.isArray(ss)) throw new SweepConfigError('"scorerServer" must be an object: {"engine": "vllm" | "sglang", "baseURL": ...}.');
    if (ss.engine !== 'vllm' && ss.engine !== 'sglang') throw new SweepConfigError('"scorerServer.engine" must be "vllm" or "sglang" (a server that can score).');
    for (const f of ['servedModel', 'models', 'scorer'] as const) {
      if (ss[f] !== undefined) throw new SweepConfigError(`"scorerServer.${f}" is not used: the served scorer is named by "scorer".`);
    }
    const fields = validateServerSweep({ ...ss, servedModel: scorer, temperatures: raw.temperatures }, () => false)!;
    scorerServer = fields.server;
    scorerKind = 'server';
  } else if (isLocalDir(scorer)) {
    scorerKind = 'local';
  } else {
    throw new SweepConfigError(`"scorer" ${JSON.stringify(scorer)} is not a local model folder; a served scorer needs "scorerServer" (its engine and address).`);
  }
  const stream = raw.stream ?? true;
  if (typeof stream !== 'boolean') throw new SweepConfigError('"stream" must be true or false.');
  const confirmHost = raw.confirmHost;
  if (confirmHost !== undefined && (typeof confirmHost !== 'string' || confirmHost.trim() === '')) {
    throw new SweepConfigError('"confirmHost" must be the host the raw contexts may go to (e.g. "192.168.1.20:11434").');
  }
  const apiKeyEnv = raw.apiKeyEnv;
  if (apiKeyEnv !== undefined && (typeof apiKeyEnv !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(apiKeyEnv))) {
    throw new SweepConfigError('"apiKeyEnv" must name an environment variable (the key itself never goes in the config).');
  }
  return {
    compressor: {
      kind,
      ...(baseURL !== undefined ? { baseURL } : {}),
      concurrency: optionalWhole(raw, 'concurrency'),
      stream,
      ...(confirmHost !== undefined ? { confirmHost: (confirmHost as string).trim() } : {}),
      ...(apiKeyEnv !== undefined ? { apiKeyEnv: apiKeyEnv as string } : {}),
    },
    models: raw.models as string[],
    scorer,
    scorerKind,
    ...(scorerServer ? { scorerServer } : {}),
  };
}

/**
 * The bank, split once and independently of any model: each text is cut at paragraph breaks,
 * then sentence ends, into passages of at most `passageChars` characters (no split when it is
 * undefined). Every model then compresses the same passages; each passage is checked against
 * every chosen model's window when the sweep starts.
 */
export async function splitBank(texts: readonly string[], passageChars?: number): Promise<string[]> {
  if (passageChars === undefined) return texts.map((t) => t.trim()).filter((t) => t !== '');
  if (!Number.isInteger(passageChars) || passageChars < 20) throw new SweepConfigError('"passageChars" must be a whole number >= 20.');
  const out: string[] = [];
  for (const t of texts) for (const c of await chunkText(t, (s) => s.length, passageChars)) out.push(c.text);
  return out;
}

export interface Rates {
  /** Generation, tokens per second. */
  decodeTokensPerSecond: number;
  /** Batched scoring, tokens per second. */
  prefillTokensPerSecond: number;
  /** Mean prompt length in tokens. */
  promptTokens: number;
  /** One predictor (and judge) call, seconds. */
  predictorSecondsPerCall: number;
}

/**
 * Seconds the whole grid should take, from rates (measured or assumed): every compression
 * written to its full budget, each run's scoring = N prompts + N × its compressions' tokens
 * (ESTIMATOR.md §5), and one predictor call per item and run (two with the LLM judge).
 */
export function estimateSweepSeconds(plan: SweepPlan, rates: Rates): number {
  const slots = slotsPerRun(plan);
  const n = plan.bank.length;
  const questions = plan.items ? plan.items.length : 1;
  let seconds = 0;
  for (const budget of plan.budgets) {
    const tokens = (plan.budgetUnit === 'tokens' ? budget : Math.min(plan.maxTokens, budget * 25)) * slots * plan.samples;
    const genS = tokens / rates.decodeTokensPerSecond;
    const scoreS = (n * rates.promptTokens * (plan.items ? questions : 1) + n * tokens) / rates.prefillTokensPerSecond;
    seconds += (genS + scoreS) * plan.models.length * plan.temperatures.length * plan.seeds.length;
  }
  if (plan.items) {
    const calls = plan.items.length * plan.models.length * plan.budgets.length * plan.temperatures.length * plan.seeds.length;
    seconds += calls * rates.predictorSecondsPerCall * (plan.judge === 'llm' ? 2 : 1);
  }
  return seconds;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'unknown';
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** A short stable hash of a JSON-able value (FNV-1a, 32-bit, hex), to tie a saved sweep to its plan. */
export function planHash(plan: SweepPlan): string {
  const text = JSON.stringify(plan);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0') + text.length.toString(16);
}
