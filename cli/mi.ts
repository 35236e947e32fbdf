/**
 * `npm run --silent mi -- --model DIR --contexts FILE.jsonl [--question Q] --samples M --max-tokens L [--temperature T] [--seed S]`
 * `npm run --silent mi -- --engine vllm|sglang --base-url URL --served-model NAME [--prompt-style plain|chat] [--concurrency K] ...`
 * `npm run --silent mi -- --compressor ollama --compressor-model NAME <scorer engine flags> ...`
 * Runs one mutual-information estimate (src/lib/core/run-estimate.ts) with the reference engine
 * or an inference server (cli/engines.ts) and prints one JSON object. See USAGE.
 */
import { readFileSync } from 'node:fs';
import { NotEnoughContextsError } from '../src/lib/core/estimator';
import { runEstimate } from '../src/lib/core/run-estimate';
import { ServerTemperatureError } from '../src/lib/core/server-errors';
import { ServerEngine } from '../workers/engines/server/engine';
import { COMPRESSOR_ARGS, COMPRESSOR_USAGE, compressorFromArgs } from './compressor';
import { ENGINE_ARGS, ENGINE_USAGE, engineFromArgs, isServerEngine } from './engines';
import { parseArgs, required, runCommand, UsageError } from './shared';

const USAGE = `
Estimate the mutual information between contexts and their compressions (ESTIMATOR.md) with the
reference engine or the ONNX engine (--engine onnx): sample M compressions of each context, score every compression under every
context, and average term = s_own - logsumexp_l s_l + ln N.

Usage:
  npm run --silent mi -- [--engine reference|onnx] --model DIR [--dtype D] --contexts FILE.jsonl [--question Q] --samples M --max-tokens L [--temperature T] [--seed S]
  npm run --silent mi -- --engine vllm|sglang --base-url URL --served-model NAME [--prompt-style plain|chat]
                         [--concurrency K] --contexts FILE.jsonl ... (same options)
  npm run --silent mi -- --compressor ollama|lmstudio|llama-server|openai-chat [--compressor-url URL]
                         --compressor-model NAME [--compressor-concurrency K] <scorer: the engine flags>
                         --contexts FILE.jsonl ... (same options)

Options:
  --model DIR         reference: folder with stories260K.bin + tok512.bin, or one checkpoint and one
                      tokenizer *.bin; onnx: a Hugging Face ONNX folder (e.g. stories260K-onnx)
  --contexts FILE     JSON Lines, one context per line: {"text": "..."} (blank lines skipped).
                      At least two contexts: MI compares contexts, so one context is refused
                      (exit 1) rather than reported as 0.
  --question Q        the shared question; default "" (allowed: the estimate is then of what the
                      compression keeps about the context in general, I(X;Z) without a question)
  --samples M         compressions per context (whole number >= 1)
  --max-tokens L      token budget of each compression (whole number >= 1)
  --temperature T     sampling and scoring temperature, default 1 (0 = greedy, scored at 1)
  --seed S            base seed, default 0; compression k = i*M + j uses a seed derived from it
  top_p is 1 (the full distribution: the channel that is sampled is the one that is scored).

Template: the reference engine is a story model, which does not follow instructions, so its
prompt is BOS + the context, then a newline and the question when one is given (the 'plain'
template of src/lib/core/prompts.ts, version in "templateVersion"). The onnx engine uses the same
plain prompt for a model without a chat template (stories260K-onnx) and the model's own chat
template (tokenizer_config.json) for an instruction model.

${ENGINE_USAGE}${COMPRESSOR_USAGE}
Output (one line of JSON on stdout), nats unless named bits:
  miNats, miBits       the unclipped mean of the terms (may be negative); miBitsClipped = max(0, miBits)
  ceilingBits          log2 N; stdErrBits: approximate, sd(term) / sqrt(N*M)
  bitsPerToken         miBits / mean compression length in tokens (stop token included)
  contexts             [{"promptIds": [...]}]: the exact ids each context's compressions were
                       sampled from and every compression was scored under
  compressions         [{"context": i, "sample": j, "ids": [...], "text", "termNats",
                        "scoresNats": [s under each context], "pmiNats": [per token, sums to termNats],
                        "truncated": cut by --max-tokens (scored as produced), "empty"}]
  model, scorerModelId the compressor's id and the scorer's (the same without --compressor)
  compressor           (with --compressor) {"id", "host", "requests", "retries"}; each compression then
                       has "generator": {"generatedTokens", "logprobsNats"} as the server reported them,
                       and its "ids" are the scorer's re-tokenisation of "text" (+ its stop id if it stopped)
  counters             engine work while scoring: {"prefillTokens", "decodeSteps", "forwardCalls"}
  generationCounters   the same while sampling the compressions; timings: {"generationMs", "scoringMs"}
  server               (server engines) {"host", "sampler": "server", "requests", "retries",
                       "tokensSent", "tokensScored", "cachedTokens", "sglangConvention",
                       "scoring": {"mode": echo|prompt_logprobs|sglang, "sequencesPerRequest"}}
Errors: a message on stderr and exit code 1 (a server that cannot score: ServerCannotScoreError).
`;

function readContexts(file: string): string[] {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`Cannot read the contexts file "${file}".`);
  }
  const contexts: string[] = [];
  raw.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new UsageError(`${file} line ${index + 1} is not JSON; each line must be {"text": "..."}.`);
    }
    const text = (parsed as { text?: unknown } | null)?.text;
    if (typeof text !== 'string') {
      throw new UsageError(`${file} line ${index + 1} has no "text" string; each line must be {"text": "..."}.`);
    }
    contexts.push(text);
  });
  return contexts;
}

function wholeNumber(value: number, flag: string): number {
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${flag} needs a whole number >= 1.`);
  return value;
}

const argv = process.argv.slice(2);
await runCommand(argv, USAGE, async () => {
  const args = parseArgs(argv, {
    ...ENGINE_ARGS,
    ...COMPRESSOR_ARGS,
    contexts: 'string',
    question: 'string',
    samples: 'number',
    'max-tokens': 'number',
    temperature: 'number',
    seed: 'number',
  });
  const contexts = readContexts(required(args.contexts, 'contexts'));
  const samplesPerContext = wholeNumber(required(args.samples, 'samples'), 'samples');
  const maxTokens = wholeNumber(required(args['max-tokens'], 'max-tokens'), 'max-tokens');
  const temperature = args.temperature ?? 1;
  // Refuse before the model is loaded: never print a number that was not measured.
  if (contexts.length < 2) throw new NotEnoughContextsError(contexts.length);
  if (isServerEngine(args) && temperature !== 0 && temperature !== 1) throw new ServerTemperatureError(temperature);
  if (!isServerEngine(args)) required(args.model, 'model');
  const compressor = await compressorFromArgs(args);
  const engine = await engineFromArgs(args);
  const outcome = await runEstimate(
    engine,
    {
      contexts,
      question: args.question ?? '',
      samplesPerContext,
      settings: { temperature, topP: 1, maxTokens, seed: args.seed ?? 0 },
    },
    {},
    { compressor: compressor ?? undefined },
  );
  if (outcome.status !== 'done') throw new Error('The estimate was cancelled.');
  const { summary } = outcome;
  return {
    miNats: summary.miNats,
    miBits: summary.miBits,
    miBitsClipped: summary.miBitsClipped,
    ceilingBits: summary.ceilingBits,
    stdErrBits: summary.stdErrBits,
    bitsPerToken: summary.bitsPerToken,
    meanTokens: summary.meanTokens,
    n: summary.n,
    m: summary.m,
    model: outcome.modelId,
    scorerModelId: outcome.scorerModelId,
    question: outcome.question,
    templateVersion: outcome.templateVersion,
    settings: outcome.settings,
    warnings: outcome.warnings,
    contexts: outcome.contexts,
    compressions: outcome.compressions.map((c) => ({
      context: c.context,
      sample: c.sample,
      ids: c.ids,
      text: c.text,
      termNats: c.termNats,
      scoresNats: c.scoresNats,
      pmiNats: c.pmiNats,
      truncated: c.truncated,
      empty: c.empty,
      ...(c.generator ? { generator: c.generator } : {}),
    })),
    counters: outcome.counters.scoring,
    generationCounters: outcome.counters.generation,
    timings: outcome.timings,
    ...(compressor ? { compressor: { id: compressor.id, host: compressor.host, ...compressor.stats } } : {}),
    ...(engine instanceof ServerEngine ? { server: { host: engine.host, sampler: 'server', ...engine.serverStats() } } : {}),
  };
});
