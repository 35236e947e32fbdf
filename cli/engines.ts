/**
 * Engine choice for the command lines: the reference engine from a model folder (default), or
 * an inference server (vLLM, SGLang) over HTTP. Server flags:
 *   --engine vllm|sglang --base-url URL --served-model NAME [--prompt-style plain|chat]
 *   [--concurrency K] [--batch-size B] [--vllm-scoring echo|prompt_logprobs] [--timeout-ms MS]
 * The API key, if the server needs one, is read from the environment variable
 * PRECIS_SERVER_API_KEY (never a flag, so it stays out of shell history and process lists).
 */
import type { Engine, PromptStyle } from '../src/lib/core/engine';
import { ServerEngine, type ScoringServerKind } from '../workers/engines/server/engine';
import { loadCliEngine, required, UsageError } from './shared';

export const ENGINE_ARGS = {
  model: 'string',
  engine: 'string',
  dtype: 'string',
  'base-url': 'string',
  'served-model': 'string',
  'prompt-style': 'string',
  concurrency: 'number',
  'batch-size': 'number',
  'vllm-scoring': 'string',
  'timeout-ms': 'number',
} as const;

export const ENGINE_USAGE = `
Engine (default: the reference engine from --model DIR):
  --engine E          reference (default), onnx (a Hugging Face ONNX folder as --model DIR, run by
                      transformers.js on onnxruntime-node), vllm or sglang
  --dtype D           onnx only: weights variant (fp32, q8, q4, q4f16, ...; default: the model's
                      transformers.js_config dtype, else q4, q8, fp32 in that order)
  --base-url URL      the server, e.g. http://127.0.0.1:8000 (vllm, sglang)
  --served-model NAME the model name the server serves (its --served-model-name)
  --prompt-style S    plain (default: BOS, the context, a newline and the question) or chat
                      (the server's chat template, through /tokenize with messages)
  --concurrency K     requests in flight at most (default 8)
  --batch-size B      sequences per scoring request (default 16)
  --vllm-scoring M    echo (default) or prompt_logprobs
  --timeout-ms MS     per request (default 120000)
  The server's API key, if any, comes from the environment variable PRECIS_SERVER_API_KEY.
  Sampling happens on the server; servers score at temperature 1 only.
`;

type EngineArgs = { [K in keyof typeof ENGINE_ARGS]?: (typeof ENGINE_ARGS)[K] extends 'number' ? number : string };

export function isServerEngine(args: EngineArgs): boolean {
  return args.engine === 'vllm' || args.engine === 'sglang';
}

export async function engineFromArgs(args: EngineArgs): Promise<Engine> {
  const kind = args.engine ?? 'reference';
  if (kind === 'reference' || kind === 'onnx') return loadCliEngine(kind, required(args.model, 'model'), args.dtype);
  if (kind !== 'vllm' && kind !== 'sglang') throw new UsageError(`--engine must be reference, onnx, vllm or sglang (got "${kind}").`);
  if (args.dtype !== undefined) throw new UsageError('--dtype applies to --engine onnx only.');
  const style = args['prompt-style'] ?? 'plain';
  if (style !== 'plain' && style !== 'chat') throw new UsageError(`--prompt-style must be plain or chat (got "${style}").`);
  const scoring = args['vllm-scoring'] ?? 'echo';
  if (scoring !== 'echo' && scoring !== 'prompt_logprobs') throw new UsageError('--vllm-scoring must be echo or prompt_logprobs.');
  for (const flag of ['concurrency', 'batch-size'] as const) {
    const v = args[flag];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new UsageError(`--${flag} needs a whole number >= 1.`);
  }
  return ServerEngine.connect({
    kind: kind as ScoringServerKind,
    baseURL: required(args['base-url'], 'base-url'),
    servedModel: required(args['served-model'], 'served-model'),
    promptStyle: style as PromptStyle,
    apiKey: process.env.PRECIS_SERVER_API_KEY || undefined,
    concurrency: args.concurrency,
    batchSize: args['batch-size'],
    vllmScoring: scoring,
    timeoutMs: args['timeout-ms'],
  });
}
