/**
 * `npm run bench:mi [-- --json] [--model DIR] [--max-tokens L]`: the cost of one MI estimate on
 * stories260K for N in {4, 8, 16} contexts and M in {1, 2} compressions per context.
 *
 * For each row: the tokens the engine processed while scoring (prefill tokens + decode steps from
 * its counters) against the minimum of ESTIMATOR.md §5,
 *   minimum = sum_l |x_l| + N * sum_ij |z_ij|        (|x_l| = prompt ids of context l)
 * and against a naive schedule that re-prefills each context for every compression and scores
 * token by token,
 *   naive = N*M * sum_l |x_l| + N * sum_ij |z_ij|     (N*N*M prefills + N*sum|z| decode steps)
 * plus the wall time of scoring and of generating the compressions. Contexts are the first N
 * lines of cli/fixtures/stories.jsonl; question "Who is in the story?"; T = 1, top_p = 1, seed 0.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { FIXTURE_DIR, storyTexts } from '../cli/fixture';
import { loadEngineFromDir, parseArgs } from '../cli/shared';
import { runEstimate } from '../src/lib/core/run-estimate';

interface Row {
  n: number;
  m: number;
  countedTokens: number;
  minimumTokens: number;
  naiveTokens: number;
  scoringMs: number;
  generationMs: number;
}

const args = parseArgs(process.argv.slice(2), { json: 'boolean', model: 'string', 'max-tokens': 'number' });
const modelDir = args.model ?? FIXTURE_DIR;
if (!existsSync(modelDir)) {
  console.error(`Model folder ${modelDir} not found; pass --model DIR (or set PRECIS_MODELS_DIR).`);
  process.exit(1);
}
const maxTokens = args['max-tokens'] ?? 32;
const stories = storyTexts();

const engine = loadEngineFromDir(modelDir);

async function measure(n: number, m: number): Promise<Row> {
  const out = await runEstimate(engine, {
    contexts: stories.slice(0, n),
    question: 'Who is in the story?',
    samplesPerContext: m,
    settings: { temperature: 1, topP: 1, maxTokens, seed: 0 },
  });
  if (out.status !== 'done') throw new Error('cancelled');
  const sumX = out.contexts.reduce((a, c) => a + c.promptIds.length, 0);
  const sumZ = out.compressions.reduce((a, c) => a + c.ids.length, 0);
  return {
    n,
    m,
    countedTokens: out.counters.scoring.prefillTokens + out.counters.scoring.decodeSteps,
    minimumTokens: sumX + n * sumZ,
    naiveTokens: n * m * sumX + n * sumZ,
    scoringMs: Math.round(out.timings.scoringMs),
    generationMs: Math.round(out.timings.generationMs),
  };
}

// Warm the JIT so the first row is not penalised.
await measure(4, 1);

const rows: Row[] = [];
for (const n of [4, 8, 16]) for (const m of [1, 2]) rows.push(await measure(n, m));

if (args.json) {
  process.stdout.write(JSON.stringify(rows) + '\n');
} else {
  const header = ['N', 'M', 'scored tokens', 'minimum', 'ratio', 'naive', 'naive/min', 'scoring ms', 'generation ms'];
  const lines = rows.map((r) => [
    r.n,
    r.m,
    r.countedTokens,
    r.minimumTokens,
    (r.countedTokens / r.minimumTokens).toFixed(3),
    r.naiveTokens,
    (r.naiveTokens / r.minimumTokens).toFixed(2),
    r.scoringMs,
    r.generationMs,
  ].map(String));
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c].length)));
  const fmt = (cells: string[]) => '| ' + cells.map((x, c) => x.padStart(widths[c])).join(' | ') + ' |';
  console.log(`MI estimate cost on ${path.basename(modelDir)}, max ${maxTokens} tokens per compression (tokens = prefill tokens + decode steps)`);
  console.log(fmt(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const l of lines) console.log(fmt(l));
}
