/**
 * `npm run bench:onnx`: the ONNX engine against the reference engine on stories260K, printed as
 * figures (not a pass/fail test). For each runtime: prefill tokens/s (one 256-token prompt),
 * decode tokens/s (256 greedy tokens from BOS, one forward call each), and one MI estimate's wall
 * time split into generation and scoring (the first 8 contexts of cli/fixtures/stories.jsonl,
 * M = 1, 32 tokens, temperature 1, seed 0).
 *
 * Runtimes: the reference engine (Node), the ONNX engine on onnxruntime-node (CPU), and the ONNX
 * engine on onnxruntime-web WASM in headless Chromium with one and with two threads (the app's
 * worker, built by bench/onnx-browser/, served cross-origin isolated on PRECIS_BENCH_PORT,
 * default 8962). `--json` prints the rows as JSON; `--skip-browser` runs the Node rows only.
 */
import { existsSync, createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { FIXTURE_DIR, storyTexts } from '../cli/fixture';
import { loadCliEngine, parseArgs } from '../cli/shared';
import type { Engine } from '../src/lib/core/engine';
import { runEstimate } from '../src/lib/core/run-estimate';

const args = parseArgs(process.argv.slice(2), { json: 'boolean', 'skip-browser': 'boolean', tokens: 'number' });
const repoRoot = path.resolve(import.meta.dirname, '..');
const modelsDir = path.dirname(FIXTURE_DIR);
const onnxDir = path.join(modelsDir, 'stories260K-onnx');
if (!existsSync(FIXTURE_DIR) || !existsSync(onnxDir)) {
  console.error(`stories260K and stories260K-onnx not found in ${modelsDir} (set PRECIS_MODELS_DIR).`);
  process.exit(1);
}
const TOKENS = args.tokens ?? 256;
const prompt = [1];
for (let i = 1; i < TOKENS; i++) prompt.push(3 + ((i * 7919) % (512 - 3)));
const contexts = storyTexts().slice(0, 8);
const question = 'Who is in the story?';
const MAX_TOKENS = 32;

interface Row {
  runtime: string;
  threads: number | null;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  miBits: number;
  generationMs: number;
  scoringMs: number;
  scoringForwardCalls: number;
}

async function timeMs(work: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}

async function nodeRow(name: string, engine: Engine): Promise<Row> {
  const greedy = (maxTokens: number) => ({ temperature: 0, topP: 1, maxTokens, seed: 0 });
  await engine.generate(prompt, greedy(8));
  let prefillMs = Infinity;
  let decodeMs = Infinity;
  for (let r = 0; r < 3; r++) {
    prefillMs = Math.min(prefillMs, await timeMs(() => engine.generate(prompt, greedy(1))));
    decodeMs = Math.min(decodeMs, await timeMs(() => engine.generate([1], greedy(TOKENS))));
  }
  const outcome = await runEstimate(engine, { contexts, question, samplesPerContext: 1, settings: { temperature: 1, topP: 1, maxTokens: MAX_TOKENS, seed: 0 } });
  if (outcome.status !== 'done') throw new Error('estimate did not finish');
  return {
    runtime: name,
    threads: null,
    prefillTokensPerSecond: (TOKENS / prefillMs) * 1000,
    decodeTokensPerSecond: (TOKENS / decodeMs) * 1000,
    miBits: outcome.summary.miBits,
    generationMs: outcome.timings.generationMs,
    scoringMs: outcome.timings.scoringMs,
    scoringForwardCalls: outcome.counters.scoring.forwardCalls,
  };
}

async function browserRows(): Promise<Row[]> {
  const out = path.resolve(process.env.PRECIS_BENCH_OUT ?? path.join(os.tmpdir(), 'precis-bench-onnx'));
  execFileSync(process.execPath, [path.join(repoRoot, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'bench/onnx-browser/vite.config.ts'], {
    cwd: repoRoot,
    env: { ...process.env, PRECIS_BENCH_OUT: out },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
  const server = createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const [root, rel] = url.startsWith('/models/') ? [modelsDir, url.slice(8)] : [out, url.slice(1) || 'index.html'];
    const file = path.resolve(root, rel);
    if (!file.startsWith(root + path.sep) || !existsSync(file) || !statSync(file).isFile()) return void res.writeHead(404).end();
    res.writeHead(200, {
      'Content-Type': types[path.extname(file)] ?? 'application/octet-stream',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    });
    createReadStream(file).pipe(res);
  });
  const port = Number(process.env.PRECIS_BENCH_PORT ?? 8962);
  await new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok));
  const { chromium } = await import('@playwright/test');
  const executablePath = process.env.PRECIS_CHROMIUM ?? '/usr/bin/chromium';
  const browser = await chromium.launch({ executablePath: existsSync(executablePath) ? executablePath : undefined, args: ['--no-sandbox'] });
  try {
    const rows: Row[] = [];
    for (const threads of [1, 2]) {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${port}/`);
      const r = await page.evaluate(
        (input) => (window as unknown as { benchOnnx: (i: unknown) => Promise<Record<string, number> & { isolated: boolean; scoringCounters: { forwardCalls: number } }> }).benchOnnx(input),
        { device: 'wasm', threads, prompt, decodeTokens: TOKENS, contexts, question, maxTokens: MAX_TOKENS },
      );
      if (!r.isolated) throw new Error('the harness page is not cross-origin isolated');
      rows.push({
        runtime: 'onnx engine, onnxruntime-web WASM (Chromium)',
        threads,
        prefillTokensPerSecond: r.prefillTokensPerSecond,
        decodeTokensPerSecond: r.decodeTokensPerSecond,
        miBits: r.miBits,
        generationMs: r.generationMs,
        scoringMs: r.scoringMs,
        scoringForwardCalls: r.scoringCounters.forwardCalls,
      });
      await page.close();
    }
    return rows;
  } finally {
    await browser.close();
    server.close();
  }
}

const rows: Row[] = [];
rows.push(await nodeRow('reference engine (Node, float64)', await loadCliEngine('reference', FIXTURE_DIR)));
rows.push(await nodeRow('onnx engine, onnxruntime-node (CPU)', await loadCliEngine('onnx', onnxDir)));
if (!args['skip-browser']) rows.push(...(await browserRows()));

if (args.json) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
  console.log(`stories260K, ${TOKENS}-token prefill and decode (best of 3), one MI estimate N = 8, M = 1, ${MAX_TOKENS} tokens; ${os.cpus()[0]?.model ?? ''}, ${os.cpus().length} cores, Node ${process.version}`);
  console.log('| runtime | threads | prefill tokens/s | decode tokens/s | MI bits | generation ms | scoring ms | scoring forward calls |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(`| ${r.runtime} | ${r.threads ?? '-'} | ${fmt(r.prefillTokensPerSecond)} | ${fmt(r.decodeTokensPerSecond)} | ${r.miBits.toFixed(4)} | ${fmt(r.generationMs)} | ${fmt(r.scoringMs)} | ${r.scoringForwardCalls} |`);
  }
}
