/**
 * `npm run --silent score -- --model DIR --prompt-ids 1,2,3 --continuation-ids 4,5,6 [--temperature T]`
 * Prints one JSON object: {"logprobsNats": [...]}, one entry per continuation id. See USAGE.
 */
import { ENGINE_USAGE, loadCliEngine, parseArgs, required, runCommand } from './shared';

const USAGE = `
Teacher-forced log-probabilities of a continuation with the reference engine or the ONNX engine.

Usage:
  npm run --silent score -- [--engine reference|onnx] --model DIR [--dtype D] --prompt-ids 1,2,3 --continuation-ids 4,5,6 [--temperature T]

Options:
${ENGINE_USAGE}
  --model DIR              as for generate (reference: stories260K.bin + tok512.bin, or one
                           checkpoint and one tokenizer *.bin; onnx: a Hugging Face ONNX folder)
  --prompt-ids IDS         comma-separated token ids, used as given (include BOS, id 1, yourself)
  --continuation-ids IDS   comma-separated token ids to score after the prompt
  --temperature T          default 1; 0 is scored at 1

Output (one line of JSON on stdout):
  {"logprobsNats": [...]}  ln p of each continuation id given everything before it, float64
  log-softmax of logits / T. Prompt + continuation - 1 must fit the model's window.
Errors: a message on stderr and exit code 1.
`;

const argv = process.argv.slice(2);
await runCommand(argv, USAGE, async () => {
  const args = parseArgs(argv, {
    engine: 'string',
    model: 'string',
    dtype: 'string',
    'prompt-ids': 'ids',
    'continuation-ids': 'ids',
    temperature: 'number',
  });
  const promptIds = required(args['prompt-ids'], 'prompt-ids');
  const continuation = required(args['continuation-ids'], 'continuation-ids');
  const engine = await loadCliEngine(args.engine, required(args.model, 'model'), args.dtype);
  const [logprobsNats] = await engine.score(promptIds, [continuation], args.temperature ?? 1);
  return { logprobsNats };
});
