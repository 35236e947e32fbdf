/**
 * `npm run --silent generate -- --model DIR --prompt TEXT --max-tokens N [--temperature T] [--top-p P] [--seed S]`
 * Prints one JSON object: {"promptIds", "ids", "text", "logprobsNats"}. See USAGE.
 */
import { ENGINE_USAGE, loadCliEngine, parseArgs, required, runCommand, UsageError } from './shared';

const USAGE = `
Generate a continuation with the reference engine (llama2.c checkpoint, pure TypeScript, float64)
or the ONNX engine (--engine onnx).

Usage:
  npm run --silent generate -- [--engine reference|onnx] --model DIR [--dtype D] --prompt TEXT --max-tokens N [--temperature T] [--top-p P] [--seed S]

Options:
${ENGINE_USAGE}
  --model DIR        reference: folder with stories260K.bin + tok512.bin, or exactly one checkpoint
                     *.bin and one tokenizer *.bin (a checkpoint is the file whose header predicts
                     its size); onnx: a Hugging Face ONNX folder (e.g. stories260K-onnx)
  --prompt TEXT      plain text; the prompt ids are BOS followed by its encoding ("" = BOS alone)
  --max-tokens N     tokens to generate at most (generation also ends at EOS, id 2 for
                     stories260K; onnx: the stop ids of generation_config.json; the stop id is
                     included; and when the model's window is full)
  --temperature T    default 1; 0 means greedy (argmax)
  --top-p P          nucleus mass in (0, 1], default 1 (the full distribution)
  --seed S           seed of the deterministic sampler (mulberry32, taken mod 2^32), default 0

Output (one line of JSON on stdout):
  {"promptIds": [...], "ids": [...], "text": "...", "logprobsNats": [...]}
  promptIds: the encoded prompt with BOS first; ids: the generated ids; text: the generated ids
  decoded (following the prompt); logprobsNats: ln p of each generated id under softmax(logits/T)
  before top-p truncation (T = 1 when greedy), float64.
Errors: a message on stderr and exit code 1.
`;

const argv = process.argv.slice(2);
await runCommand(argv, USAGE, async () => {
  const args = parseArgs(argv, {
    engine: 'string',
    model: 'string',
    dtype: 'string',
    prompt: 'string',
    'max-tokens': 'number',
    temperature: 'number',
    'top-p': 'number',
    seed: 'number',
  });
  const maxTokens = required(args['max-tokens'], 'max-tokens');
  if (!Number.isInteger(maxTokens) || maxTokens < 0) throw new UsageError('--max-tokens needs a whole number >= 0.');
  const engine = await loadCliEngine(args.engine, required(args.model, 'model'), args.dtype);
  const promptIds = await engine.promptIds({ kind: 'plain', text: required(args.prompt, 'prompt') });
  const result = await engine.generate(promptIds, {
    temperature: args.temperature ?? 1,
    topP: args['top-p'] ?? 1,
    seed: args.seed ?? 0,
    maxTokens,
  });
  const text = engine.decodeAfter(result.ids, promptIds[promptIds.length - 1]);
  return { promptIds, ids: result.ids, text, logprobsNats: result.logprobsNats };
});
