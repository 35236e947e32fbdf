/**
 * `npm run --silent sweep -- --config FILE.json [--out FILE.json]`
 * Runs a sweep of compressor configurations (src/lib/core/sweep/run-sweep.ts, the code the
 * Compare view runs) with the reference engine, on a vLLM or SGLang server (the server
 * engine, workers/engines/server/), or with generate-only compressors (workers/engines/chat/)
 * and a fixed scorer, and prints one JSON object. With --out, the
 * state is written to that file after every finished compression, scored run and answer, and a
 * partial file given again resumes where it stopped. See USAGE.
 */
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../src/lib/core/errors';
import { parseItems } from '../src/lib/core/sweep/eval-items';
import {
  splitBank,
  validateChatSweep,
  validateGrid,
  validateServerSweep,
  planHash,
  estimateSweepSeconds,
  formatDuration,
  SweepConfigError,
  type ChatSweepFields,
  type ServerSweepFields,
  type SweepPlan,
  type SweepServer,
} from '../src/lib/core/sweep/plan';
import { connectCompressor } from './compressor';
import type { ChatCompressor } from '../workers/engines/chat/compressor';
import { scaleFigures } from '../src/lib/core/server-scale';
import { ServerEngine, type ServerStats } from '../workers/engines/server/engine';
import { checkResumable, newSweepState, runSweep, type CostFigures, type SweepOutput } from '../src/lib/core/sweep/run-sweep';
import type { JudgeKind } from '../src/lib/core/sweep/judge';
import { askPredictor, type PredictorEndpoint } from '../src/lib/predictor/ask';
import { DEFAULT_PRICES } from '../src/lib/predictor/pricing';
import { savings } from '../src/lib/predictor/savings';
import { loadEngineFromDir, parseArgs, required, runCommand, UsageError } from './shared';

const USAGE = `
Sweep compressor configurations: every model x budget x temperature, S seeds each, M samples per
context, on one bank; MI (ESTIMATOR.md) per run, summaries per configuration, and with "eval" the
predictor's accuracy, a 95% Wilson interval, the fit of D(R) = C*exp(-b*R) + D0 and the
correlation of MI with accuracy.

Usage:
  npm run --silent sweep -- --config FILE.json [--out FILE.json]

Config (paths are relative to the working directory, or else to the config file):
  {"engine": "reference", "models": ["../shared/models/stories260K"], "contexts": "FILE.jsonl",
   "question": "Q", "budgets": [16, 32], "temperatures": [1], "samples": 1, "seeds": [0, 1],
   "scorer": "self" | "<model dir>",
   "eval": {"items": "FILE.jsonl|FILE.csv", "predictor": {"baseURL": "...", "model": "...", "apiKeyEnv": "NAME"},
            "judge": "exact" | "choice" | "llm"}}
  optional: "budgetUnit": "sentences" with "maxTokens" (token cap); "passageChars": split each
  context at paragraphs, then sentences, into passages of at most this many characters;
  "costModel" (predictor model to price without eval, default gpt-4o);
  eval: "judgeEndpoint" {baseURL, model, apiKeyEnv} (default: the predictor), "baselines":
  ["none"] (default) and/or "raw" (needs "sendRawContext": true: raw text leaves the device).
  contexts lines are {"text": ...}; with eval the bank is the items' distinct contexts.

On an inference server (vLLM or SGLang; the same fields otherwise):
  {"engine": "vllm" | "sglang", "baseURL": "http://127.0.0.1:8000", "servedModel": "NAME",
   (or "models": ["NAME", ...], several served names on the same server or router)
   "scorer": "self" | "<another served name>" | "<local model dir, run by the reference engine>",
   "temperatures": [1], ...}
  optional: "promptStyle": "plain" (default: BOS, the context, a newline and the question) |
  "chat" (vLLM only: its chat template through /tokenize), "concurrency" (requests in flight,
  default 8), "batchSize" (sequences per scoring request, default 16), "vllmScoring": "echo"
  (default) | "prompt_logprobs", "apiKeyEnv" (the variable holding the server's key; default
  PRECIS_SERVER_API_KEY when set). A served scorer scores at temperature 1 only, so the
  temperatures must be 1 (or 0, greedy, scored at 1) unless the scorer is a local model folder.
  A scorer that is an existing folder is a local model; any other name is served. A server that
  cannot score (llama-server, Ollama) is refused with ServerCannotScoreError. The address is not
  part of the plan, so an --out file resumes against the same models at another address.

With generate-only compressors (Ollama, LM Studio, llama-server, any OpenAI-compatible chat
endpoint; they write, and one fixed scorer re-tokenises and scores every text):
  {"engine": "ollama" | "lmstudio" | "llama-server" | "openai-chat", "models": ["llama3.1:8b", ...],
   "baseURL": "http://127.0.0.1:11434" (default per kind),
   "scorer": "<local model dir>" | "<served name>" with
   "scorerServer": {"engine": "vllm" | "sglang", "baseURL": "...", "promptStyle"?, "concurrency"?,
                    "batchSize"?, "vllmScoring"?, "apiKeyEnv"?}, ...}
  optional: "concurrency" (compressor requests in flight), "stream" (default true), "apiKeyEnv"
  (the compressor's key; default PRECIS_COMPRESSOR_API_KEY when set), "confirmHost": "HOST"
  (required when the compressor is not on this machine: the raw contexts go to HOST).
  Compressions are written from the chat template; budgets count the compressor's tokens, and
  "meanTokens" / bits per token count the scorer's tokens of the same text. Each compression
  keeps "generator": {"generatedTokens", "logprobsNats"} as the server reported them.
  "compressor"?: this invocation's {"host", "requests", "retries"} (not saved in --out).

Output: {"configs": [{"model", "budget", "temperature", "miBitsMean", "miBitsSpread",
  "ceilingBits", "bitsPerTokenMean", "meanTokens", "wallMs", "tokensPerSecond",
  "flopsPerCompression", "cost", "accuracy"?, "accuracyLow"?, "accuracyHigh"?, "runs": [{"seed",
  "miNats", "miBits", "ceilingBits", "bitsPerToken", "contexts": [{"promptIds", "promptIdsByItem"?}],
  "compressions": [{"context", "item"?, "sample", "ids", "generatedIds", "text", "termNats",
  "scoresNats", "pmiNats"}], "items"?: [{"index", "answer", "correct"}]}]}], "fit"?, "fitNote"?,
  "correlation"?, "baselines"?, "status", ...}
  "server"? (server engines): this invocation's {"host", "requests", "retries", "tokensSent",
  "tokensScored", "cachedTokens", "sglangConvention", "scoring": {"mode", "sequencesPerRequest"}}
  over every server engine it connected (not saved in --out).
  ids / promptIds are exactly what was scored (the scorer's with a fixed scorer). With eval,
  compression of item i was scored under contexts[l].promptIdsByItem[i] (item i's question).
Errors: a message on stderr and exit 1 (a paused sweep keeps its --out file: run again to resume).
`;

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`Cannot read the ${what} "${file}".`);
  }
}

function resolver(configFile: string) {
  return (p: string) => {
    if (path.isAbsolute(p) || existsSync(p)) return p;
    const beside = path.join(path.dirname(configFile), p);
    return existsSync(beside) ? beside : p;
  };
}

function readContexts(file: string): string[] {
  const out: string[] = [];
  readText(file, 'contexts file').split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new SweepConfigError(`${file} line ${i + 1} is not JSON; each line must be {"text": "..."}.`);
    }
    const text = (parsed as { text?: unknown } | null)?.text;
    if (typeof text !== 'string') throw new SweepConfigError(`${file} line ${i + 1} has no "text" string; each line must be {"text": "..."}.`);
    out.push(text);
  });
  return out;
}

function endpointOf(raw: unknown, what: string): PredictorEndpoint {
  const e = raw as { baseURL?: unknown; model?: unknown; apiKeyEnv?: unknown } | undefined;
  if (!e || typeof e.baseURL !== 'string' || typeof e.model !== 'string') {
    throw new SweepConfigError(`"${what}" needs "baseURL" and "model" strings.`);
  }
  let apiKey = '';
  if (e.apiKeyEnv !== undefined) {
    if (typeof e.apiKeyEnv !== 'string') throw new SweepConfigError(`"${what}.apiKeyEnv" must name an environment variable.`);
    const v = process.env[e.apiKeyEnv];
    if (v === undefined) throw new SweepConfigError(`the environment variable ${e.apiKeyEnv} (${what}.apiKeyEnv) is not set.`);
    apiKey = v;
  }
  return { baseUrl: e.baseURL, model: e.model, apiKey };
}

interface Built {
  plan: SweepPlan;
  server: ServerSweepFields | null;
  chat: ChatSweepFields | null;
  /** The vLLM or SGLang server that scores (the compressors' own, or a generate-only sweep's scorerServer). */
  scoringServer?: SweepServer;
  /** The scorer is a local model folder (run by the reference engine). */
  scorerIsLocal: boolean;
  predictor?: PredictorEndpoint;
  judge?: PredictorEndpoint;
  costModel: string;
}

async function buildPlan(configFile: string): Promise<Built> {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readText(configFile, 'config file')) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new SweepConfigError(`${configFile} is not valid JSON (${errorMessage(err)}).`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new SweepConfigError('the config must be a JSON object.');
  const resolve = resolver(configFile);
  const isLocalDir = (ref: string) => {
    const p = resolve(ref);
    return existsSync(p) && statSync(p).isDirectory();
  };
  const server = validateServerSweep(raw, isLocalDir);
  const chat = validateChatSweep(raw, isLocalDir);
  const engine = (raw.engine ?? 'reference') as string;
  const grid = validateGrid(server ? { ...raw, models: server.models } : raw);
  // Model folders are paths; served and generate-only names are not.
  if (!server && !chat) grid.models = grid.models.map(resolve);
  const scorerIsLocal = grid.scorer !== 'self' && (server ? server.scorerKind === 'local' : chat ? chat.scorerKind === 'local' : true);
  if (scorerIsLocal) grid.scorer = resolve(grid.scorer);
  const scoringServer = server?.server ?? chat?.scorerServer;
  const serverPlan = scoringServer ? { promptStyle: scoringServer.promptStyle } : {};
  for (const [env, what] of [
    [scoringServer?.apiKeyEnv, chat ? 'scorerServer.apiKeyEnv' : 'apiKeyEnv'],
    [chat?.compressor.apiKeyEnv, 'apiKeyEnv'],
  ] as const) {
    if (env !== undefined && process.env[env] === undefined) throw new SweepConfigError(`the environment variable ${env} ("${what}") is not set.`);
  }
  const question = raw.question ?? '';
  if (typeof question !== 'string') throw new SweepConfigError('"question" must be a string.');
  const passageChars = raw.passageChars as number | undefined;
  const costModel = typeof raw.costModel === 'string' ? raw.costModel : undefined;
  const ev = raw.eval as Record<string, unknown> | undefined;
  if (ev !== undefined) {
    if (!ev || typeof ev !== 'object') throw new SweepConfigError('"eval" must be an object.');
    if (typeof ev.items !== 'string') throw new SweepConfigError('"eval.items" must name a JSONL or CSV file.');
    const itemsFile = resolve(ev.items);
    const items = parseItems(readText(itemsFile, 'items file'), itemsFile);
    const judge = (ev.judge ?? 'exact') as JudgeKind;
    if (!['exact', 'choice', 'llm'].includes(judge)) throw new SweepConfigError('"eval.judge" must be "exact", "choice" or "llm".');
    if (judge === 'choice' && items.some((it) => !it.options)) throw new SweepConfigError('the "choice" judge needs "options" on every item.');
    const baselines = (ev.baselines ?? ['none']) as unknown;
    if (!Array.isArray(baselines) || !baselines.every((b) => b === 'none' || b === 'raw')) {
      throw new SweepConfigError('"eval.baselines" must be a list of "none" and "raw".');
    }
    if (baselines.includes('raw') && ev.sendRawContext !== true) {
      throw new SweepConfigError('the "raw" baseline sends each item\'s raw context to the predictor; set "eval.sendRawContext": true to allow that.');
    }
    const predictor = endpointOf(ev.predictor, 'eval.predictor');
    const judgeEndpoint = judge === 'llm' ? (ev.judgeEndpoint ? endpointOf(ev.judgeEndpoint, 'eval.judgeEndpoint') : predictor) : undefined;
    const bank: string[] = [];
    const itemContext = items.map((it) => {
      let k = bank.indexOf(it.context);
      if (k < 0) k = bank.push(it.context) - 1;
      return k;
    });
    if (bank.length < 2) throw new SweepConfigError(`MI needs at least two distinct contexts; the items have ${bank.length}.`);
    return {
      plan: {
        engine,
        ...grid,
        ...serverPlan,
        bank,
        question: '',
        items,
        itemContext,
        judge,
        baselines: { none: baselines.includes('none'), raw: baselines.includes('raw') },
      },
      server,
      chat,
      scoringServer,
      scorerIsLocal,
      predictor,
      judge: judgeEndpoint,
      costModel: predictor.model,
    };
  }
  if (typeof raw.contexts !== 'string') throw new SweepConfigError('"contexts" must name a JSONL file of {"text": ...} lines (or give "eval").');
  const bank = await splitBank(readContexts(resolve(raw.contexts)), passageChars);
  if (bank.length < 2) throw new SweepConfigError(`MI needs a bank of at least two passages (got ${bank.length}).`);
  return {
    plan: { engine, ...grid, ...serverPlan, bank, question, baselines: { none: false, raw: false } },
    server,
    chat,
    scoringServer,
    scorerIsLocal,
    costModel: costModel ?? 'gpt-4o',
  };
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

const argv = process.argv.slice(2);
await runCommand(argv, USAGE, async () => {
  const args = parseArgs(argv, { config: 'string', out: 'string' });
  const configFile = required(args.config, 'config');
  const { plan, server, chat, scoringServer, scorerIsLocal, predictor, judge, costModel } = await buildPlan(configFile);
  const hash = planHash(plan);
  let state: SweepOutput;
  if (args.out && existsSync(args.out)) {
    let saved: unknown;
    try {
      saved = JSON.parse(readFileSync(args.out, 'utf8'));
    } catch (err) {
      throw new UsageError(`--out file "${args.out}" exists but is not JSON (${errorMessage(err)}); remove it or name another.`);
    }
    state = checkResumable(saved, hash);
  } else {
    state = newSweepState(plan, hash);
  }
  const promptTokens = Math.ceil(plan.bank.reduce((a, t) => a + t.length, 0) / plan.bank.length / 2);
  if (server) {
    // A server's speed is unknown here: say how much work each run asks of it instead.
    const s = server.server;
    const w = scaleFigures({
      contexts: plan.bank.length,
      samples: plan.samples,
      promptTokens: Math.max(1, promptTokens),
      compressionTokens: plan.maxTokens,
      batchSize: s.batchSize ?? 16,
    });
    process.stderr.write(
      `sweep: ${state.configs.length} configurations x ${plan.seeds.length} seeds on ${s.kind} at ${s.baseURL}; per run at most ` +
        `${w.generationRequests} generation and ${w.scoringRequests} scoring requests, ${w.scoringTokensSent} scoring tokens sent (prompt tokens estimated at chars/2)\n`,
    );
  } else if (chat) {
    const c = chat.compressor;
    process.stderr.write(
      `sweep: ${state.configs.length} configurations x ${plan.seeds.length} seeds; ${c.kind} writes ${plan.bank.length * plan.samples} compressions per run, ` +
        `scored by ${chat.scorerServer ? `${plan.scorer} on ${chat.scorerServer.baseURL}` : plan.scorer}\n`,
    );
  } else {
    const seconds = estimateSweepSeconds(plan, { decodeTokensPerSecond: 3000, prefillTokensPerSecond: 4000, promptTokens, predictorSecondsPerCall: 1 });
    process.stderr.write(`sweep: ${state.configs.length} configurations x ${plan.seeds.length} seeds, about ${formatDuration(seconds)} on this engine\n`);
  }
  const serverTotals: Omit<ServerStats, 'scoring'> & { host: string; scoring: ServerStats['scoring'] | null } = {
    host: '',
    requests: 0,
    retries: 0,
    tokensSent: 0,
    tokensScored: 0,
    cachedTokens: 0,
    sglangConvention: null,
    scoring: null,
  };
  const apiKey = scoringServer ? process.env[scoringServer.apiKeyEnv ?? 'PRECIS_SERVER_API_KEY'] || undefined : undefined;
  const compressorTotals = { host: '', requests: 0, retries: 0 };
  const out = await runSweep(plan, state, {
    loadEngine: async (model) => {
      if (!scoringServer || (model === plan.scorer && scorerIsLocal)) return loadEngineFromDir(model);
      const s = scoringServer;
      return ServerEngine.connect({
        kind: s.kind,
        baseURL: s.baseURL,
        servedModel: model,
        promptStyle: s.promptStyle,
        apiKey,
        concurrency: s.concurrency,
        batchSize: s.batchSize,
        vllmScoring: s.vllmScoring,
      });
    },
    releaseEngine: async (e) => {
      if (e instanceof ServerEngine) {
        const st = e.serverStats();
        serverTotals.host = e.host;
        serverTotals.requests += st.requests;
        serverTotals.retries += st.retries;
        serverTotals.tokensSent += st.tokensSent;
        serverTotals.tokensScored += st.tokensScored;
        serverTotals.cachedTokens += st.cachedTokens;
        serverTotals.sglangConvention ??= st.sglangConvention;
        serverTotals.scoring ??= st.scoring;
      }
      await e.dispose();
    },
    ...(chat
      ? {
          loadCompressor: (model: string) =>
            connectCompressor({
              kind: chat.compressor.kind,
              baseURL: chat.compressor.baseURL,
              model,
              concurrency: chat.compressor.concurrency,
              stream: chat.compressor.stream,
              confirmHost: chat.compressor.confirmHost,
              apiKey: process.env[chat.compressor.apiKeyEnv ?? 'PRECIS_COMPRESSOR_API_KEY'] || undefined,
            }),
          releaseCompressor: async (c: ChatCompressor) => {
            compressorTotals.host = c.host;
            compressorTotals.requests += c.stats.requests;
            compressorTotals.retries += c.stats.retries;
            await c.dispose();
          },
        }
      : {}),
    save: (s) => {
      if (args.out) writeAtomic(args.out, JSON.stringify(s));
    },
    predict: predictor ? (messages) => askPredictor(predictor, messages) : undefined,
    judge: judge ? (messages) => askPredictor(judge, messages) : undefined,
    costModel,
    costOf: async (compressed, raw): Promise<CostFigures> => {
      const s = await savings({ compressedMessages: compressed, rawMessages: raw, model: costModel, prices: { ...DEFAULT_PRICES } });
      return {
        compressedTokens: s.compressedTokens,
        rawTokens: s.rawTokens,
        compressedCostUsd: s.compressedCostUsd,
        rawCostUsd: s.rawCostUsd,
        tokensAreEstimate: s.tokensAreEstimate,
      };
    },
  });
  return {
    ...out,
    ...(scoringServer ? { server: serverTotals } : {}),
    ...(chat ? { compressor: compressorTotals } : {}),
  };
});
