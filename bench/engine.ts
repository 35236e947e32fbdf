/**
 * `npm run bench:engine`: prefill and decode throughput of the reference engine on stories260K.
 * Prints figures (not a pass/fail test). Model folder: PRECIS_MODELS_DIR/stories260K or
 * ../shared/models/stories260K beside the checkout, or --model DIR.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FIXTURE_DIR } from '../cli/fixture';
import { loadEngineFromDir, parseArgs } from '../cli/shared';

const args = parseArgs(process.argv.slice(2), { model: 'string', tokens: 'number', reps: 'number' });
const modelDir = args.model ?? FIXTURE_DIR;
if (!existsSync(modelDir)) {
  console.error(`Model folder ${modelDir} not found; pass --model DIR.`);
  process.exit(1);
}
const tokens = args.tokens ?? 256;
const reps = args.reps ?? 5;

const engine = loadEngineFromDir(modelDir);
const model = engine.model;
const vocab = model.config.vocabSize;
// A fixed pseudo-random prompt of real ids (BOS first); content does not change the work done.
const prompt = [1];
for (let i = 1; i < tokens; i++) prompt.push(3 + ((i * 7919) % (vocab - 3)));

function best(run: () => void): number {
  let bestMs = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    run();
    bestMs = Math.min(bestMs, performance.now() - t0);
  }
  return bestMs;
}

// Warm-up so the JIT has compiled the hot loops before timing.
for (let r = 0; r < 3; r++) {
  model.forward(prompt, 0, 'last');
  for (let p = 0; p < 64; p++) model.forward([prompt[p]], p, 'last');
}

const prefillMs = best(() => {
  model.forward(prompt, 0, 'last');
});
const decodeMs = best(() => {
  for (let p = 0; p < tokens; p++) model.forward([prompt[p]], p, 'last');
});

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const report = {
  machine: os.cpus()[0]?.model ?? 'unknown',
  node: process.version,
  model: path.basename(modelDir),
  tokens,
  reps,
  prefillTokensPerSecond: Math.round((tokens / prefillMs) * 1000),
  prefillMsPerToken: +(prefillMs / tokens).toFixed(4),
  decodeTokensPerSecond: Math.round((tokens / decodeMs) * 1000),
  decodeMsPerToken: +(decodeMs / tokens).toFixed(4),
};
console.log(`machine: ${report.machine}, node ${report.node}`);
console.log(`model: ${report.model}; ${tokens} tokens from position 0; best of ${reps} runs`);
console.log(`prefill (one batched forward call): ${fmt(report.prefillTokensPerSecond)} tokens/s, ${report.prefillMsPerToken} ms/token`);
console.log(`decode (one token per forward call): ${fmt(report.decodeTokensPerSecond)} tokens/s, ${report.decodeMsPerToken} ms/token`);
console.log(JSON.stringify(report));
